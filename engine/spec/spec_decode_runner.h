// The ModelRunner of speculative decoding over a target LlmRunner. A step
// in which no sequence verifies proposals or asks for them (the adaptive
// cut turned speculation off, or none fit) is the target's own
// (LlmRunner::execute: CUDA graph replay, device sampling). The other steps
// run here: the target computes the logits (prefill chunks, plain decodes,
// and decodes that carry proposals to verify, all in one forward,
// LlmRunner::compute_logits); this runner samples, verifies proposals
// (rejection_sampler.h) and asks its Proposer for the next ones
// (SeqStep::num_propose), then records the emitted tokens in the target
// (LlmRunner::record_tokens), which keeps the one sampling state of each
// sequence (seed, draw index, penalty history, constraint). A sequence
// with a structured-output constraint has its rows masked draft by draft
// before verification (the target's SequenceGrammar::prepare, on the
// MaskWorker while the target's forward pass runs, then apply), so a
// proposal the constraint refuses is rejected.
//
// Needs synchronous scheduling: proposals are made after the step's tokens
// are known, so inputs are never kLastSampled.
//
// Thread-safety: as ModelRunner (one thread drives it).
#pragma once

#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/runner/llm_runner.h"
#include "engine/runner/mask_worker.h"
#include "engine/spec/proposer.h"

namespace pdserve::spec {

class SpecDecodeRunner final : public runner::ModelRunner {
 public:
  // `target` must outlive the runner.
  SpecDecodeRunner(runner::LlmRunner* target, std::unique_ptr<Proposer> proposer);

  Status add_sequence(const runner::SequenceInfo& info) override;
  void remove_sequence(uint64_t seq_id) override;
  // kInvalidArgument for a bad batch (as LlmRunner) or proposals to verify
  // that this runner did not make.
  Result<runner::StepOutput> execute(const runner::StepBatch& batch) override;

  int block_size() const override { return target_->block_size(); }
  int num_blocks() const override { return target_->num_blocks(); }
  int num_host_blocks() const override { return target_->num_host_blocks(); }
  int max_model_len() const override { return target_->max_model_len(); }
  int vocab_size() const override { return target_->vocab_size(); }
  const std::vector<int32_t>& eos_token_ids() const override { return target_->eos_token_ids(); }

 private:
  struct SeqState {
    runner::SamplingParams params;
    std::vector<int32_t> tokens;  // prompt, then outputs
    size_t prompt_len = 0;
    uint64_t seed = 0;                           // the target's too
    Proposal pending;                            // the last proposal, verified in the next step
    runner::SequenceGrammar* grammar = nullptr;  // the target's; null: unconstrained
    runner::SamplingContext context() const;
  };

  // A step with nothing to verify or propose, on the target's own path.
  Result<runner::StepOutput> execute_plain(const runner::StepBatch& batch);

  // The step's tokens for one sampling sequence, from its logits rows.
  Result<std::vector<runner::SampledToken>> sample(const runner::SeqStep& s, SeqState& st,
                                                   std::span<float> rows);
  // hidden[i]: batch.seqs[i]'s rows of the target's hidden states (empty
  // unless the proposer needs them).
  Status propose(const runner::StepBatch& batch, const std::vector<std::span<const float>>& hidden,
                 runner::StepOutput* out);

  runner::LlmRunner* target_;
  std::unique_ptr<Proposer> proposer_;
  std::unordered_map<uint64_t, SeqState> seqs_;
  runner::MaskWorker masks_;  // after seqs_: idle before their grammars go
};

}  // namespace pdserve::spec
