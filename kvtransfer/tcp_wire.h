// The tcp backend's wire format (std only). Every frame is a fixed 48-byte
// header followed by `len` payload bytes. Both ends are the same build on
// little-endian hosts; the magic catches anything else.
//
//   sender ──HELLO(nonce_s, name)──▶ receiver ──CHALLENGE(nonce_r, receiver proof)──▶
//   sender ──AUTH(sender proof, compat)──▶ receiver ──HELLO_OK | HELLO_REFUSED(msg)──▶
//   (peer_auth.h: both ends prove the cluster token; the receiver closes a
//   connection that has not authenticated within kHandshakeTimeout)
//   sender ──DATA(transfer, region, offset, len, epoch) + bytes ──▶   (repeated)
//   sender ──NOTIFY(transfer, epoch) + payload──▶ receiver ──ACK(transfer, code) + msg──▶
//   (a part's NOTIFY, with no payload, gets no ACK: agent.h "Parts")
//   sender ──ABORT(transfer)──▶   (cancel / injected fault: no NOTIFY follows)
//
// The receiver checks every DATA frame (epoch not fenced, inside a grant of
// this connection, region registered, bounds) before a byte lands; a frame of
// a fenced epoch is read into scratch and turns the transfer's ACK into the
// error; a frame outside the grants drops the connection (InboundPolicy).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pdserve::kvtransfer::tcp {

inline constexpr uint32_t kMagic = 0x4b564450;         // "PDVK"
inline constexpr uint64_t kMaxControlLen = 64 * 1024;  // HELLO, NOTIFY, ACK payloads
inline constexpr uint64_t kMaxChunkLen = 4 << 20;      // DATA payload the receiver accepts
inline constexpr uint64_t kChunkLen = 1 << 20;         // DATA payload the sender writes
inline constexpr uint64_t kMaxNameLen = 256;           // HELLO: nonce + name
inline constexpr uint64_t kMaxCompatLen = 4096;        // AUTH: proof + compat key
inline constexpr auto kHandshakeTimeout = std::chrono::seconds(5);

enum class FrameType : uint16_t {
  kHello = 1,
  kHelloOk = 2,
  kHelloRefused = 3,
  kData = 4,
  kNotify = 5,
  kAbort = 6,
  kAck = 7,
  kChallenge = 8,
  kAuth = 9,
};

struct FrameHeader {
  uint32_t magic = kMagic;
  uint16_t type = 0;
  uint16_t reserved = 0;
  uint64_t transfer_id = 0;
  uint64_t region = 0;  // DATA: remote region; ACK: StatusCode
  uint64_t offset = 0;
  uint64_t len = 0;  // payload bytes after the header
  uint64_t epoch = 0;
};
static_assert(sizeof(FrameHeader) == 48);

inline FrameHeader make_header(FrameType type, uint64_t transfer_id, uint64_t len) {
  FrameHeader h;
  h.type = static_cast<uint16_t>(type);
  h.transfer_id = transfer_id;
  h.len = len;
  return h;
}

// Header followed by a small payload, as one buffer.
inline std::string control_frame(FrameHeader h, std::string_view payload) {
  h.len = payload.size();
  std::string out(sizeof(h) + payload.size(), '\0');
  std::memcpy(out.data(), &h, sizeof(h));
  std::memcpy(out.data() + sizeof(h), payload.data(), payload.size());
  return out;
}

}  // namespace pdserve::kvtransfer::tcp
