// The seam of speculative decoding: a Proposer guesses the tokens that will
// follow a sequence, and the verifier (rejection_sampler.h) keeps what the
// target model agrees with. Implementations: n-gram prompt lookup
// (ngram_proposer.h) and a draft model (draft_model_proposer.h). An
// EAGLE-style head, a third, reads the target's hidden states: it answers
// needs_hidden_states() and receives them in ProposeInput::hidden_states.
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
  // Only for a proposer that needs_hidden_states(): the target's final
  // hidden states (after its last norm: what its LM head reads) of this
  // step, [n, hidden_size], n the tokens the step emitted for the sequence
  // (the last n of token_ids): row j is the state at the position of
  // token_ids[size - n - 1 + j], from which the target predicted
  // token_ids[size - n + j]. Tokens emitted by steps that neither verified
  // nor proposed (the target's own path, SpecDecodeRunner) come without.
  std::span<const float> hidden_states;
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
  // True for a proposer that reads the target's hidden states: the target's
  // steps then bring them to the host and run eagerly (no CUDA graphs).
  virtual bool needs_hidden_states() const { return false; }
  // The sequence ended: forget what is kept for it.
  virtual void remove_sequence(uint64_t seq_id) = 0;
};

}  // namespace pdserve::spec
