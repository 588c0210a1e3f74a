#include "kvtransfer/ucx_sessions.h"

#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer::ucx {

Result<UcxSessions::Challenge> UcxSessions::hello(std::string_view sender_nonce, std::string name) {
  if (sender_nonce.size() != kNonceLen) return invalid_argument("bad hello");
  PD_ASSIGN_OR_RETURN(std::string nonce, make_nonce());
  if (pending_.size() >= kMaxPending) pending_.erase(pending_.begin());
  const uint64_t id = next_id_++;
  Challenge c{id, nonce, receiver_proof(token_, sender_nonce, nonce)};
  pending_[id] = {std::string(sender_nonce), std::move(nonce), std::move(name)};
  return c;
}

Result<UcxSessions::Session> UcxSessions::auth(uint64_t challenge_id, std::string_view proof,
                                               std::string_view compat_key) {
  auto it = pending_.find(challenge_id);
  if (it == pending_.end()) return unauthenticated("authentication failed");
  const Pending p = std::move(it->second);
  pending_.erase(it);
  const std::string expected =
      sender_proof(token_, p.receiver_nonce, p.sender_nonce, p.name, compat_key);
  if (!proofs_equal(proof, expected)) return unauthenticated("authentication failed");
  if (compat_key != compat_key_) {
    return failed_precondition("KV layout (compat key) differs from the receiver's");
  }
  if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
  const uint64_t id = next_id_++;
  sessions_[id] = session_tag(token_, p.sender_nonce, p.receiver_nonce);
  return Session{id, p.name};
}

Status UcxSessions::check(uint64_t session_id, std::string_view tag) const {
  auto it = sessions_.find(session_id);
  if (it == sessions_.end() || !proofs_equal(tag, it->second)) {
    return unauthenticated("no authenticated session");
  }
  return ok_status();
}

}  // namespace pdserve::kvtransfer::ucx
