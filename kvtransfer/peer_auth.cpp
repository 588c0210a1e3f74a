#include "kvtransfer/peer_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace pdserve::kvtransfer {
namespace {

// Length-prefixed parts, so ("ab", "c") and ("a", "bc") differ.
std::string transcript(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += std::to_string(p.size());
    out += ':';
    out += p;
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view msg) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // An empty key is valid HMAC input; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const void* k = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

Result<std::string> make_nonce() {
  std::string nonce(kNonceLen, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceLen) != 1) {
    return internal_error("kvtransfer: the system random generator failed");
  }
  return nonce;
}

std::string receiver_proof(std::string_view token, std::string_view sender_nonce,
                           std::string_view receiver_nonce) {
  return hmac_sha256(token, transcript({"pdserve-kv receiver", sender_nonce, receiver_nonce}));
}

std::string sender_proof(std::string_view token, std::string_view receiver_nonce,
                         std::string_view sender_nonce, std::string_view name,
                         std::string_view compat_key) {
  return hmac_sha256(
      token, transcript({"pdserve-kv sender", receiver_nonce, sender_nonce, name, compat_key}));
}

std::string session_tag(std::string_view token, std::string_view sender_nonce,
                        std::string_view receiver_nonce) {
  return hmac_sha256(token, transcript({"pdserve-kv session", sender_nonce, receiver_nonce}))
      .substr(0, kSessionTagLen);
}

bool proofs_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace pdserve::kvtransfer
