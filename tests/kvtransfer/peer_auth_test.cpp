#include "kvtransfer/peer_auth.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

TEST(PeerAuthTest, NoncesAreFreshAndFullLength) {
  auto a = make_nonce(), b = make_nonce();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), kNonceLen);
  EXPECT_NE(*a, *b);
}

TEST(PeerAuthTest, ProofsDependOnTokenNoncesNameAndDirection) {
  const std::string ns(kNonceLen, 's'), nr(kNonceLen, 'r');
  const std::string p = sender_proof("token", nr, ns, "prefill", "compat");
  EXPECT_EQ(p.size(), kProofLen);
  EXPECT_TRUE(proofs_equal(p, sender_proof("token", nr, ns, "prefill", "compat")));
  EXPECT_FALSE(proofs_equal(p, sender_proof("tokem", nr, ns, "prefill", "compat")));
  EXPECT_FALSE(proofs_equal(p, sender_proof("token", ns, nr, "prefill", "compat")));
  EXPECT_FALSE(proofs_equal(p, sender_proof("token", nr, ns, "prefil", "lcompat")));
  EXPECT_FALSE(proofs_equal(p, sender_proof("token", nr, ns, "prefill", "other")));
  // A receiver's proof can never stand in for a sender's (reflection).
  EXPECT_FALSE(
      proofs_equal(receiver_proof("token", ns, nr), sender_proof("token", nr, ns, "", "")));
  EXPECT_FALSE(proofs_equal(p, p.substr(1)));
}

TEST(PeerAuthTest, IsHmacSha256OverTheFramedTranscript) {
  // python3: hmac.new(b"key", b"19:pdserve-kv receiver0:0:", hashlib.sha256).hexdigest()
  const std::string proof = receiver_proof("key", "", "");
  std::string hex;
  for (unsigned char c : proof) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  EXPECT_EQ(hex, "c0654fb5384cef4ad9f5110b2bd32935699b318817099e3866d4b7aeadfa6edf");
  EXPECT_NE(receiver_proof("key", "ab", ""), receiver_proof("key", "a", "b"));
}

}  // namespace
}  // namespace pdserve::kvtransfer
