#include "kvtransfer/cuda_ipc_wire.h"

#include <cstring>

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

constexpr size_t kMaxRegions = 1 << 16;
constexpr size_t kPieceLen = kMaxNotificationLen - 1;

class Writer {
 public:
  void u64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), sizeof(v)); }
  // LEB128: 7 bits a byte, low first; 1 to 10 bytes.
  void var(uint64_t v) {
    for (; v >= 0x80; v >>= 7) out_.push_back(static_cast<char>(v | 0x80));
    out_.push_back(static_cast<char>(v));
  }
  void str(std::string_view s) {
    u64(s.size());
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool u64(uint64_t* v) {
    if (in_.size() - pos_ < sizeof(*v)) return false;
    std::memcpy(v, in_.data() + pos_, sizeof(*v));
    pos_ += sizeof(*v);
    return true;
  }
  bool var(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64 && pos_ < in_.size(); shift += 7) {
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && byte > 1) return false;  // past 64 bits
      *v |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }
  bool str(std::string* s, size_t max_len) {
    uint64_t n = 0;
    if (!u64(&n) || n > max_len || in_.size() - pos_ < n) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool count(uint64_t* n, size_t max) { return u64(n) && *n <= max; }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

bool known_verb(char c) {
  for (Verb v :
       {Verb::kHello, Verb::kRegions, Verb::kOps, Verb::kGo, Verb::kNotify, Verb::kCancel,
        Verb::kAck, Verb::kPing, Verb::kClaim, Verb::kLeased, Verb::kRevoke, Verb::kRelease}) {
    if (static_cast<char>(v) == c) return true;
  }
  return false;
}

}  // namespace

std::string encode(const Message& m) {
  Writer w;
  w.u64(static_cast<uint64_t>(m.verb));
  w.u64(m.transfer_id);
  w.u64(m.epoch);
  w.u64(static_cast<uint64_t>(m.code));
  w.str(m.text);
  w.str(m.device);
  // Each op as varints: its region, its offset less the previous op's end
  // (zigzag: a block list of one region is mostly short steps forward), its
  // length. 64 KiB blocks every 128 KiB take 7 bytes, not 24.
  w.u64(m.ops.size());
  uint64_t end = 0;
  for (const WriteOp& op : m.ops) {
    const uint64_t step = op.remote_offset - end;  // two's complement
    w.var(op.remote_region);
    w.var((step << 1) ^ (0 - (step >> 63)));
    w.var(op.len);
    end = op.remote_offset + op.len;
  }
  w.u64(m.regions.size());
  for (const ExportedRegion& r : m.regions) {
    w.u64(r.id);
    w.u64(r.len);
    w.u64(r.offset);
    w.str(r.handle);
  }
  return w.take();
}

Result<Message> decode(std::string_view bytes) {
  if (bytes.size() > kMaxMessageLen) return invalid_argument("cuda_ipc: control message too long");
  Reader r(bytes);
  Message m;
  uint64_t verb = 0, code = 0, num_ops = 0, num_regions = 0;
  auto bad = [] { return invalid_argument("cuda_ipc: malformed control message"); };
  if (!r.u64(&verb) || verb > 127 || !known_verb(static_cast<char>(verb))) return bad();
  m.verb = static_cast<Verb>(verb);
  if (!r.u64(&m.transfer_id) || !r.u64(&m.epoch) || !r.u64(&code) ||
      code > static_cast<uint64_t>(StatusCode::kInternal) || !r.str(&m.text, kMaxMessageLen) ||
      !r.str(&m.device, 256) || !r.count(&num_ops, kMaxOps)) {
    return bad();
  }
  m.code = static_cast<StatusCode>(code);
  m.ops.resize(num_ops);
  uint64_t end = 0;
  for (WriteOp& op : m.ops) {
    uint64_t step = 0;
    if (!r.var(&op.remote_region) || !r.var(&step) || !r.var(&op.len)) return bad();
    op.remote_offset = end + ((step >> 1) ^ (0 - (step & 1)));
    end = op.remote_offset + op.len;
  }
  if (!r.count(&num_regions, kMaxRegions)) return bad();
  m.regions.resize(num_regions);
  for (ExportedRegion& e : m.regions) {
    if (!r.u64(&e.id) || !r.u64(&e.len) || !r.u64(&e.offset) || !r.str(&e.handle, kIpcHandleLen) ||
        e.handle.size() != kIpcHandleLen) {
      return bad();
    }
  }
  if (!r.done()) return bad();
  return m;
}

Status message_status(const Message& m) {
  return m.code == StatusCode::kOk ? ok_status() : Status(m.code, m.text);
}

Message status_message(Verb verb, uint64_t transfer_id, const Status& status) {
  Message m;
  m.verb = verb;
  m.transfer_id = transfer_id;
  m.code = status.code();
  m.text = status.message();
  return m;
}

std::vector<std::string> fragment(std::string_view encoded) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < encoded.size(); pos += kPieceLen) {
    const size_t n = std::min(kPieceLen, encoded.size() - pos);
    const bool more = pos + n < encoded.size();
    std::string piece;
    piece.reserve(n + 1);
    piece.push_back(more ? '\1' : '\0');
    piece.append(encoded.data() + pos, n);
    out.push_back(std::move(piece));
  }
  return out;
}

Result<std::string> Reassembler::add(std::string_view fragment) {
  if (fragment.empty() || fragment.size() > kMaxNotificationLen || fragment[0] > '\1') {
    partial_.clear();
    return invalid_argument("cuda_ipc: bad control fragment");
  }
  if (partial_.size() + fragment.size() - 1 > kMaxMessageLen) {
    partial_.clear();
    return invalid_argument("cuda_ipc: control message over " + std::to_string(kMaxMessageLen) +
                            " bytes");
  }
  partial_.append(fragment.substr(1));
  if (fragment[0] == '\1') return std::string();
  std::string whole = std::move(partial_);
  partial_.clear();
  return whole;
}

}  // namespace pdserve::kvtransfer::cuda_ipc
