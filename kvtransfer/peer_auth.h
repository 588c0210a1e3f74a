// The kvtransfer handshake's proofs: both ends show they know the cluster
// token without sending it. HMAC-SHA256 (OpenSSL's libcrypto) over fresh
// 32-byte nonces from each side, with a distinct label per direction so a
// proof can never be reflected back:
//
//   sender   ──hello(nonce_s, name)──────────────────────────▶ receiver
//   sender   ◀─challenge(nonce_r, receiver_proof(nonce_s, nonce_r))──
//   sender   ──auth(sender_proof(nonce_r, nonce_s, name, compat), compat)──▶
//   sender   ◀─ok | refused("authentication failed" / "KV layout differs")──
//
// Refusals never quote the token, a proof or either compat key. Proofs are
// compared in constant time. Thread-safe (no state).
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::kvtransfer {

inline constexpr size_t kNonceLen = 32;
inline constexpr size_t kProofLen = 32;  // SHA-256

// kNonceLen bytes from the system's CSPRNG; kInternal when it fails.
Result<std::string> make_nonce();
// What the receiver sends in its challenge: proves the token to the sender.
std::string receiver_proof(std::string_view token, std::string_view sender_nonce,
                           std::string_view receiver_nonce);
// What the sender answers with: proves the token, bound to both nonces, its
// name and its compat key.
std::string sender_proof(std::string_view token, std::string_view receiver_nonce,
                         std::string_view sender_nonce, std::string_view name,
                         std::string_view compat_key);
inline constexpr size_t kSessionTagLen = 16;
// A secret both ends of a handshake derive from it and never send in it: the
// tag a ucx sender puts on each message of its session (ucx_sessions.h).
std::string session_tag(std::string_view token, std::string_view sender_nonce,
                        std::string_view receiver_nonce);
// Constant-time equality (sizes are not secret).
bool proofs_equal(std::string_view a, std::string_view b);

}  // namespace pdserve::kvtransfer
