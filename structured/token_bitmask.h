// TokenBitmask: one bit per vocabulary token, set = allowed. The layout
// (64-bit words, token i in word i / 64, bit i % 64) is what a backend copies
// to apply the mask before sampling.
#pragma once

#include <cstdint>
#include <vector>

namespace pdserve::structured {

class TokenBitmask {
 public:
  TokenBitmask() = default;
  explicit TokenBitmask(int32_t num_tokens)
      : num_tokens_(num_tokens), words_((static_cast<size_t>(num_tokens) + 63) / 64, 0) {}

  int32_t num_tokens() const { return num_tokens_; }
  bool test(int32_t id) const { return (words_[static_cast<size_t>(id) >> 6] >> (id & 63)) & 1; }
  void set(int32_t id) { words_[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); }
  void clear() { std::fill(words_.begin(), words_.end(), 0); }
  void merge(const TokenBitmask& other) {
    for (size_t i = 0; i < words_.size(); ++i) words_[i] |= other.words_[i];
  }
  int32_t count() const {
    int32_t n = 0;
    for (uint64_t w : words_) n += __builtin_popcountll(w);
    return n;
  }
  const std::vector<uint64_t>& words() const { return words_; }

 private:
  int32_t num_tokens_ = 0;
  std::vector<uint64_t> words_;
};

}  // namespace pdserve::structured
