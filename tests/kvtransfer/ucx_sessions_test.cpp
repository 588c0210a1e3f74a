#include "kvtransfer/ucx_sessions.h"

#include <gtest/gtest.h>

#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer::ucx {
namespace {

constexpr char kToken[] = "cluster-token";
constexpr char kCompat[] = "model-a";

struct Sender {
  std::string token = kToken;
  std::string compat = kCompat;
  std::string nonce = make_nonce().value();
  std::string name = "prefill-0";
};

// Runs the handshake as a sender would; the session or the receiver's refusal.
Result<UcxSessions::Session> handshake(UcxSessions& receiver, const Sender& s,
                                       std::string* tag = nullptr) {
  PD_ASSIGN_OR_RETURN(UcxSessions::Challenge c, receiver.hello(s.nonce, s.name));
  const std::string proof = sender_proof(s.token, c.nonce, s.nonce, s.name, s.compat);
  if (tag != nullptr) *tag = session_tag(s.token, s.nonce, c.nonce);
  return receiver.auth(c.challenge_id, proof, s.compat);
}

TEST(UcxSessionsTest, RightTokenOpensASessionWhoseTagChecks) {
  UcxSessions receiver(kToken, kCompat);
  Sender s;
  Result<UcxSessions::Challenge> c = receiver.hello(s.nonce, s.name);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(proofs_equal(c->proof, receiver_proof(kToken, s.nonce, c->nonce)));
  std::string tag;
  Result<UcxSessions::Session> session = handshake(receiver, s, &tag);
  ASSERT_TRUE(session.ok()) << session.status().to_string();
  EXPECT_EQ(session->name, "prefill-0");
  EXPECT_TRUE(receiver.check(session->id, tag).ok());
}

TEST(UcxSessionsTest, WrongTokenIsRefusedWithoutQuotingIt) {
  UcxSessions receiver(kToken, kCompat);
  Sender s;
  s.token = "a-guess";
  Result<UcxSessions::Session> session = handshake(receiver, s);
  ASSERT_EQ(session.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(session.status().message(), "authentication failed");
}

TEST(UcxSessionsTest, OtherCompatKeyIsRefusedWithoutQuotingEither) {
  UcxSessions receiver(kToken, kCompat);
  Sender s;
  s.compat = "model-b";
  Result<UcxSessions::Session> session = handshake(receiver, s);
  ASSERT_EQ(session.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(session.status().message().find("model-"), std::string::npos);
}

TEST(UcxSessionsTest, ChallengeAnswersOnce) {
  UcxSessions receiver(kToken, kCompat);
  Sender s;
  Result<UcxSessions::Challenge> c = receiver.hello(s.nonce, s.name);
  ASSERT_TRUE(c.ok());
  const std::string proof = sender_proof(kToken, c->nonce, s.nonce, s.name, kCompat);
  ASSERT_TRUE(receiver.auth(c->challenge_id, proof, kCompat).ok());
  EXPECT_EQ(receiver.auth(c->challenge_id, proof, kCompat).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(receiver.auth(12345, proof, kCompat).status().code(), StatusCode::kUnauthenticated);
}

TEST(UcxSessionsTest, StampsNotIssuedAreRefused) {
  UcxSessions receiver(kToken, kCompat);
  std::string tag;
  Result<UcxSessions::Session> session = handshake(receiver, Sender{}, &tag);
  ASSERT_TRUE(session.ok());
  // Another session's id with a made-up tag, an id never issued, a short tag.
  EXPECT_EQ(receiver.check(session->id, std::string(kSessionTagLen, '\0')).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(receiver.check(session->id + 100, tag).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(receiver.check(session->id, tag.substr(1)).code(), StatusCode::kUnauthenticated);
  // Two senders get different sessions and tags; a dropped session is refused.
  std::string other_tag;
  Result<UcxSessions::Session> other = handshake(receiver, Sender{}, &other_tag);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->id, session->id);
  EXPECT_FALSE(receiver.check(other->id, tag).ok());
  receiver.drop(session->id);
  EXPECT_FALSE(receiver.check(session->id, tag).ok());
  EXPECT_TRUE(receiver.check(other->id, other_tag).ok());
}

TEST(UcxSessionsTest, BadHelloAndBoundedTables) {
  UcxSessions receiver(kToken, kCompat);
  EXPECT_EQ(receiver.hello("short", "x").status().code(), StatusCode::kInvalidArgument);
  Sender first;
  Result<UcxSessions::Challenge> oldest = receiver.hello(first.nonce, first.name);
  ASSERT_TRUE(oldest.ok());
  for (size_t i = 0; i < UcxSessions::kMaxPending; ++i) {
    ASSERT_TRUE(receiver.hello(Sender{}.nonce, "flood").ok());
  }
  // The oldest challenge was evicted by the flood.
  const std::string proof = sender_proof(kToken, oldest->nonce, first.nonce, first.name, kCompat);
  EXPECT_EQ(receiver.auth(oldest->challenge_id, proof, kCompat).status().code(),
            StatusCode::kUnauthenticated);
  std::string tag;
  Result<UcxSessions::Session> s0 = handshake(receiver, Sender{}, &tag);
  ASSERT_TRUE(s0.ok());
  for (size_t i = 0; i < UcxSessions::kMaxSessions; ++i) {
    ASSERT_TRUE(handshake(receiver, Sender{}).ok());
  }
  EXPECT_FALSE(receiver.check(s0->id, tag).ok());
}

}  // namespace
}  // namespace pdserve::kvtransfer::ucx
