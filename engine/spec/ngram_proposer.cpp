#include "engine/spec/ngram_proposer.h"

#include <algorithm>

namespace pdserve::spec {

std::vector<int32_t> NgramProposer::lookup(std::span<const int32_t> tokens, int num_propose) const {
  const int len = static_cast<int>(tokens.size());
  for (int n = std::min(max_n_, len - 1); n >= min_n_; --n) {
    const std::span<const int32_t> suffix = tokens.subspan(static_cast<size_t>(len - n));
    // A match at start, followed by at least one token.
    for (int start = len - n - 1; start >= 0; --start) {
      if (!std::equal(suffix.begin(), suffix.end(), tokens.begin() + start)) continue;
      const int from = start + n;
      const int to = std::min(len, from + num_propose);
      return {tokens.begin() + from, tokens.begin() + to};
    }
  }
  return {};
}

Result<std::vector<Proposal>> NgramProposer::propose(std::span<const ProposeInput> inputs) {
  std::vector<Proposal> out(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    out[i].token_ids = lookup(inputs[i].token_ids, inputs[i].num_propose);
  }
  return out;
}

}  // namespace pdserve::spec
