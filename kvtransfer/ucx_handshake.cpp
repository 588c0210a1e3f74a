// UcxAgent: the handshake of ucx_sessions.h, both sides. The sender's half
// runs in connect() (authenticate) and in the CHALLENGE and WELCOME
// handlers; the receiver's half in the HELLO and AUTH handlers, which answer
// on the reply endpoint UCX hands them.
#include <cstring>
#include <optional>

#include "kvtransfer/ucx_internal.h"

namespace pdserve::kvtransfer::ucx {
namespace {

constexpr size_t kMaxNameLen = 256;
constexpr size_t kMaxCompatLen = 4096;
constexpr size_t kMaxMessageLen = 256;

struct HelloMsg {
  uint64_t hello_id;
  char nonce[kNonceLen];
};  // data: the sender's name
struct ChallengeMsg {
  uint64_t hello_id;
  uint64_t challenge_id;
  char nonce[kNonceLen];
  char proof[kProofLen];
};
struct AuthMsg {
  uint64_t hello_id;
  uint64_t challenge_id;
  char proof[kProofLen];
};  // data: the sender's compat key
struct WelcomeMsg {
  uint64_t hello_id;
  uint64_t code;
  uint64_t session_id;
};  // data: why, when refused

template <typename Msg>
std::string bytes_of(const Msg& m) {
  return std::string(reinterpret_cast<const char*>(&m), sizeof(m));
}

// The message in `header`, or nullopt when its size is not Msg's or the
// data is larger than `max_data` or came by rendezvous.
template <typename Msg>
std::optional<Msg> parse(const void* header, size_t header_len, size_t len, size_t max_data,
                         const ucp_am_recv_param_t* param) {
  if (header_len != sizeof(Msg) || len > max_data ||
      (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) != 0) {
    return std::nullopt;
  }
  Msg m;
  std::memcpy(&m, header, sizeof(m));
  return m;
}

std::string text(const void* data, size_t len) {
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), len);
}

bool has_reply_ep(const ucp_am_recv_param_t* param) {
  return (param->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) != 0;
}

struct Owned {
  std::string header;
  std::string data;
};

}  // namespace

void UcxAgent::send_owned(ucp_ep_h ep, unsigned am_id, std::string header, std::string data,
                          bool reply) {
  auto owned = std::make_shared<Owned>(Owned{std::move(header), std::move(data)});
  submit([ep, am_id, owned, reply] {
    auto* held = new Owned(std::move(*owned));
    ucp_request_param_t p{};
    p.op_attr_mask =
        UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.flags = UCP_AM_SEND_FLAG_EAGER | (reply ? UCP_AM_SEND_FLAG_REPLY : 0);
    p.user_data = held;
    p.cb.send = [](void* request, ucs_status_t, void* user_data) {
      delete static_cast<Owned*>(user_data);
      ucp_request_free(request);
    };
    ucs_status_ptr_t req = ucp_am_send_nbx(ep, am_id, held->header.data(), held->header.size(),
                                           held->data.data(), held->data.size(), &p);
    if (!UCS_PTR_IS_PTR(req)) delete held;
  });
}

Status UcxAgent::authenticate(UcxPeer* peer) {
  PD_ASSIGN_OR_RETURN(std::string nonce, make_nonce());
  PD_ASSIGN_OR_RETURN(std::string id_bytes, make_nonce());
  HelloMsg hello{};
  std::memcpy(&hello.hello_id, id_bytes.data(), sizeof(hello.hello_id));
  std::memcpy(hello.nonce, nonce.data(), kNonceLen);
  auto done = std::make_shared<std::promise<Status>>();
  std::future<Status> result = done->get_future();
  submit([this, peer, hello, nonce, done] { hellos_[hello.hello_id] = {peer, nonce, {}, done}; });
  send_owned(peer->ep, kHelloAm, bytes_of(hello), options_.name, true);
  Status s = result.wait_for(kHandshakeTimeout) == std::future_status::ready
                 ? result.get()
                 : deadline_exceeded("ucx peer '" + peer->name +
                                     "' did not complete the handshake within " +
                                     std::to_string(kHandshakeTimeout.count()) + " s");
  submit([this, id = hello.hello_id] { hellos_.erase(id); });
  return s;
}

Status UcxAgent::check_session(const SessionStamp& stamp) const {
  return sessions_.check(stamp.id, stamp.tag_view());
}

ucs_status_t UcxAgent::on_hello_am(void* arg, const void* header, size_t header_len, void* data,
                                   size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  std::optional<HelloMsg> m = parse<HelloMsg>(header, header_len, len, kMaxNameLen, param);
  if (!m || !has_reply_ep(param)) return UCS_OK;
  Result<UcxSessions::Challenge> c =
      self->sessions_.hello(std::string_view(m->nonce, kNonceLen), text(data, len));
  if (!c.ok()) return UCS_OK;
  ChallengeMsg out{m->hello_id, c->challenge_id, {}, {}};
  std::memcpy(out.nonce, c->nonce.data(), kNonceLen);
  std::memcpy(out.proof, c->proof.data(), kProofLen);
  self->send_owned(param->reply_ep, kChallengeAm, bytes_of(out), {}, false);
  return UCS_OK;
}

ucs_status_t UcxAgent::on_challenge_am(void* arg, const void* header, size_t header_len, void*,
                                       size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  std::optional<ChallengeMsg> m = parse<ChallengeMsg>(header, header_len, len, 0, param);
  if (!m) return UCS_OK;
  auto it = self->hellos_.find(m->hello_id);
  if (it == self->hellos_.end() || !it->second.receiver_nonce.empty()) return UCS_OK;
  OutboundHello& h = it->second;
  const std::string receiver_nonce(m->nonce, kNonceLen);
  const std::string& token = self->options_.cluster_token;
  if (!proofs_equal(std::string_view(m->proof, kProofLen),
                    receiver_proof(token, h.nonce, receiver_nonce))) {
    h.done->set_value(
        unauthenticated("ucx peer '" + h.peer->name + "' does not know the cluster token"));
    self->hellos_.erase(it);
    return UCS_OK;
  }
  h.receiver_nonce = receiver_nonce;
  AuthMsg out{m->hello_id, m->challenge_id, {}};
  const std::string proof =
      sender_proof(token, receiver_nonce, h.nonce, self->options_.name, self->options_.compat_key);
  std::memcpy(out.proof, proof.data(), kProofLen);
  self->send_owned(h.peer->ep, kAuthAm, bytes_of(out), self->options_.compat_key, true);
  return UCS_OK;
}

ucs_status_t UcxAgent::on_auth_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  std::optional<AuthMsg> m = parse<AuthMsg>(header, header_len, len, kMaxCompatLen, param);
  if (!m || !has_reply_ep(param)) return UCS_OK;
  Result<UcxSessions::Session> session =
      self->sessions_.auth(m->challenge_id, std::string_view(m->proof, kProofLen), text(data, len));
  WelcomeMsg out{m->hello_id, static_cast<uint64_t>(session.status().code()), 0};
  std::string why;
  if (session.ok()) {
    out.session_id = session->id;
  } else {
    self->inbound_.refuse("(ucx handshake)", session.status());
    why = session.status().message();
  }
  self->send_owned(param->reply_ep, kWelcomeAm, bytes_of(out), std::move(why), false);
  return UCS_OK;
}

ucs_status_t UcxAgent::on_welcome_am(void* arg, const void* header, size_t header_len, void* data,
                                     size_t len, const ucp_am_recv_param_t* param) {
  auto* self = static_cast<UcxAgent*>(arg);
  std::optional<WelcomeMsg> m = parse<WelcomeMsg>(header, header_len, len, kMaxMessageLen, param);
  if (!m) return UCS_OK;
  auto it = self->hellos_.find(m->hello_id);
  if (it == self->hellos_.end() || it->second.receiver_nonce.empty()) return UCS_OK;
  OutboundHello& h = it->second;
  const auto code = static_cast<StatusCode>(m->code);
  if (code == StatusCode::kOk && m->session_id != 0) {
    h.peer->session.id = m->session_id;
    const std::string tag = session_tag(self->options_.cluster_token, h.nonce, h.receiver_nonce);
    std::memcpy(h.peer->session.tag, tag.data(), kSessionTagLen);
    h.done->set_value(ok_status());
  } else {
    const StatusCode refused =
        code == StatusCode::kUnauthenticated || code == StatusCode::kFailedPrecondition
            ? code
            : StatusCode::kUnavailable;
    h.done->set_value(
        Status(refused, "ucx peer '" + h.peer->name + "' refused: " + text(data, len)));
  }
  self->hellos_.erase(it);
  return UCS_OK;
}

}  // namespace pdserve::kvtransfer::ucx
