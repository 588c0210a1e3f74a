// The ucx backend's handshake, receiver side, without UCX: who proved the
// cluster token and under which session. UCX gives a receiver no connection
// of its own (any process that has the worker address can send active
// messages), so every message after the handshake names its session and
// carries the session's tag, a secret both ends derive from the handshake
// and that never travels in it (peer_auth.h session_tag()):
//
//   sender ──HELLO(hello_id, nonce_s, name)──────────────────────────▶ receiver: hello()
//   sender ◀─CHALLENGE(hello_id, challenge_id, nonce_r, receiver proof)─
//   sender ──AUTH(challenge_id, sender proof, compat key)────────────▶ auth()
//   sender ◀─WELCOME(hello_id, status, session_id)─────────────────────
//   sender ──DATA / NOTIFY / ABORT(session_id, tag, ...)─────────────▶ check()
//
// The session id is the connection id grants bind to (GrantTable). Bounded:
// at most kMaxPending challenges and kMaxSessions sessions, the oldest
// evicted first (an evicted sender's writes are refused; it fails its
// transfers, the decode worker prefills locally). Not thread-safe (the
// agent's progress thread owns it).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::kvtransfer::ucx {

class UcxSessions {
 public:
  static constexpr size_t kMaxPending = 256;
  static constexpr size_t kMaxSessions = 4096;

  struct Challenge {
    uint64_t challenge_id = 0;
    std::string nonce;  // the receiver's, kNonceLen
    std::string proof;  // receiver_proof(token, sender nonce, nonce)
  };
  struct Session {
    uint64_t id = 0;
    std::string name;  // the sender's agent name
  };

  UcxSessions(std::string token, std::string compat_key)
      : token_(std::move(token)), compat_key_(std::move(compat_key)) {}

  // A HELLO: kInvalidArgument for a nonce of the wrong size; kInternal when
  // no nonce can be made.
  Result<Challenge> hello(std::string_view sender_nonce, std::string name);
  // An AUTH for a challenge (used once): kUnauthenticated for an unknown
  // challenge or a wrong proof, kFailedPrecondition when the compat key
  // differs. The messages are fit to send back: no token, proof or key.
  Result<Session> auth(uint64_t challenge_id, std::string_view proof, std::string_view compat_key);
  // ok when `session_id` is authenticated and `tag` is its tag (constant time).
  Status check(uint64_t session_id, std::string_view tag) const;
  // Forgets a session: its later messages fail check().
  void drop(uint64_t session_id) { sessions_.erase(session_id); }

 private:
  struct Pending {
    std::string sender_nonce;
    std::string receiver_nonce;
    std::string name;
  };

  const std::string token_;
  const std::string compat_key_;
  uint64_t next_id_ = 1;  // challenge and session ids
  std::map<uint64_t, Pending> pending_;
  std::map<uint64_t, std::string> sessions_;  // id -> tag
};

}  // namespace pdserve::kvtransfer::ucx
