#include "kvtransfer/metadata.h"

#include <charconv>
#include <sstream>

namespace pdserve::kvtransfer {
namespace {

constexpr size_t kMaxMetadataLen = 1 << 20;
constexpr size_t kMaxRegions = 1 << 20;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

}  // namespace

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

Result<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument("odd-length hex string");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("bad hex digit");
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::string AgentMetadata::serialize() const {
  std::ostringstream out;
  out << "pdserve-kv " << version << "\n";
  out << "backend " << backend_name(backend) << "\n";
  out << "name " << hex_encode(name) << "\n";
  out << "compat " << hex_encode(compat_key) << "\n";
  out << "address " << hex_encode(address) << "\n";
  out << "extra " << hex_encode(extra) << "\n";
  for (const RegionDesc& r : regions) {
    out << "region " << r.id << " " << r.len << " "
        << (r.kind == MemoryKind::kHost ? "host" : "device") << " " << r.addr << " "
        << hex_encode(r.rkey) << "\n";
  }
  return out.str();
}

Result<AgentMetadata> AgentMetadata::parse(std::string_view text) {
  if (text.size() > kMaxMetadataLen) return invalid_argument("metadata larger than 1 MiB");
  AgentMetadata md;
  std::vector<std::string_view> lines = split(text, '\n');
  if (lines.empty() || lines[0].substr(0, 11) != "pdserve-kv ") {
    return invalid_argument("metadata does not start with 'pdserve-kv <version>'");
  }
  uint64_t version = 0;
  if (!parse_u64(lines[0].substr(11), &version)) return invalid_argument("bad metadata version");
  md.version = static_cast<int>(version);
  if (md.version != kMetadataVersion) return md;  // check_compatible() refuses it
  bool have_backend = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    std::vector<std::string_view> f = split(lines[i], ' ');
    auto field = [&](size_t n) -> Result<std::string> {
      if (f.size() != 2)
        return invalid_argument("metadata line " + std::to_string(n) + " malformed");
      return hex_decode(f[1]);
    };
    if (f[0] == "backend" && f.size() == 2) {
      PD_ASSIGN_OR_RETURN(md.backend, parse_backend(f[1]));
      have_backend = true;
    } else if (f[0] == "name") {
      PD_ASSIGN_OR_RETURN(md.name, field(i));
    } else if (f[0] == "compat") {
      PD_ASSIGN_OR_RETURN(md.compat_key, field(i));
    } else if (f[0] == "address") {
      PD_ASSIGN_OR_RETURN(md.address, field(i));
    } else if (f[0] == "extra") {
      PD_ASSIGN_OR_RETURN(md.extra, field(i));
    } else if (f[0] == "region" && f.size() == 6) {
      if (md.regions.size() >= kMaxRegions) return invalid_argument("too many regions");
      RegionDesc r;
      if (!parse_u64(f[1], &r.id) || !parse_u64(f[2], &r.len) || !parse_u64(f[4], &r.addr)) {
        return invalid_argument("bad region line in metadata");
      }
      if (f[3] == "host") {
        r.kind = MemoryKind::kHost;
      } else if (f[3] == "device") {
        r.kind = MemoryKind::kDevice;
      } else {
        return invalid_argument("bad region memory kind in metadata");
      }
      PD_ASSIGN_OR_RETURN(r.rkey, hex_decode(f[5]));
      md.regions.push_back(std::move(r));
    } else {
      return invalid_argument("unknown metadata line " + std::to_string(i));
    }
  }
  if (!have_backend) return invalid_argument("metadata names no backend");
  return md;
}

Status check_compatible(const AgentMetadata& peer, BackendKind backend,
                        std::string_view compat_key) {
  if (peer.version != kMetadataVersion) {
    return failed_precondition("peer metadata version " + std::to_string(peer.version) +
                               ", expected " + std::to_string(kMetadataVersion));
  }
  if (peer.backend != backend) {
    return failed_precondition("peer backend " + std::string(backend_name(peer.backend)) +
                               ", expected " + std::string(backend_name(backend)));
  }
  if (peer.compat_key != compat_key) {
    return failed_precondition("compat_key mismatch: peer '" + peer.compat_key + "', ours '" +
                               std::string(compat_key) + "'");
  }
  return ok_status();
}

}  // namespace pdserve::kvtransfer
