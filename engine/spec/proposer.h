// The seam of speculative decoding: a Proposer guesses the tokens that will
// follow a sequence, and the verifier (rejection_sampler.h) keeps what the
// target model agrees with. Implementations: n-gram prompt lookup
// (ngram_proposer.h) and a draft model (draft_model_proposer.h). An
// EAGLE-style head would be a third: it would also take the target's last
// hidden states, which SpecDecodeRunner would hand over with the inputs.
//
// Not thread-safe: called on the runner's thread, once per step, with every
// sequence that asked for proposals in that step.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "engine/runner/sampler.h"

namespace pdserve::spec {

struct ProposeInput {
  uint64_t seq_id = 0;
  // Every known token of the sequence: prompt, then outputs.
  std::span<const int32_t> token_ids;
  // The target's KV block table; it covers token_ids.size() - 1 +
  // num_propose positions (a draft model keeps its KV in the same block ids
  // of its own cache).
  std::span<const int32_t> block_table;
  int num_propose = 0;
  // The sequence's sampling (params, seed, prompt and outputs): a proposer
  // that samples draws from the same processed distribution.
  const runner::SamplingContext* sampling = nullptr;
};

struct Proposal {
  std::vector<int32_t> token_ids;  // at most num_propose
  // The distribution each token was drawn from, [token_ids.size()][vocab];
  // empty when the proposal is a function of the context (a point mass).
  std::vector<std::vector<double>> probs;
};

class Proposer {
 public:
  virtual ~Proposer() = default;
  // One proposal per input, in order (possibly empty).
  virtual Result<std::vector<Proposal>> propose(std::span<const ProposeInput> inputs) = 0;
  // The sequence ended: forget what is kept for it.
  virtual void remove_sequence(uint64_t seq_id) = 0;
};

}  // namespace pdserve::spec
