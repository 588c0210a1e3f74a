// Prompt lookup decoding: the last n tokens of a sequence (n from max_n
// down to min_n, longest first) are looked up earlier in the sequence
// (prompt and outputs, most recent match first), and the tokens that
// followed the match are proposed. Pure CPU; keeps no state.
#pragma once

#include "engine/spec/proposer.h"

namespace pdserve::spec {

class NgramProposer final : public Proposer {
 public:
  // 1 <= min_n <= max_n (checked by SpeculativeConfig).
  NgramProposer(int min_n, int max_n) : min_n_(min_n), max_n_(max_n) {}

  Result<std::vector<Proposal>> propose(std::span<const ProposeInput> inputs) override;
  void remove_sequence(uint64_t) override {}

  // The lookup for one sequence: at most num_propose tokens.
  std::vector<int32_t> lookup(std::span<const int32_t> tokens, int num_propose) const;

 private:
  int min_n_;
  int max_n_;
};

}  // namespace pdserve::spec
