// Draft-model speculation: a smaller checkpoint with the target's
// vocabulary runs k autoregressive steps per target step, batched across
// the sequences that asked, on its own LlmRunner (same backend kind, its own
// KV cache). Its cache mirrors the target's block ids: the draft's KV of
// position p lives in block block_table[p / block_size] of the draft's pool,
// so the scheduler's block tables serve both models and freeing a request's
// blocks frees the draft's too.
//
// Per sequence the proposer remembers which tokens its cache holds (and
// under which block table); each propose() first catches up on the tokens
// it has not seen (the prompt on the first call, the last step's accepted
// tokens later; everything again after its blocks changed or another
// sequence wrote them), in
// one batched forward whose logits give the first proposal, then k - 1
// one-token steps. Greedy requests take the draft's argmax (a point mass);
// sampled ones draw from the draft's processed distribution, returned as q.
#pragma once

#include <memory>
#include <unordered_map>

#include "engine/runner/llm_runner.h"
#include "engine/spec/proposer.h"

namespace pdserve::spec {

class DraftModelProposer final : public Proposer {
 public:
  // kInvalidArgument unless the draft has the target's vocabulary size,
  // block size, block count and max_model_len.
  static Result<std::unique_ptr<DraftModelProposer>> create(
      std::unique_ptr<runner::LlmRunner> draft, const runner::ModelRunner& target);

  Result<std::vector<Proposal>> propose(std::span<const ProposeInput> inputs) override;
  void remove_sequence(uint64_t seq_id) override;

 private:
  struct SeqState {
    std::vector<int32_t> tokens;       // whose KV the draft's cache holds, from position 0
    std::vector<int32_t> block_table;  // the table they were written under
  };
  // One proposal in the making.
  struct Drafting {
    const ProposeInput* input;
    std::vector<int32_t> outputs;  // the context's outputs, then the drafts so far
    Proposal proposal;
  };

  explicit DraftModelProposer(std::unique_ptr<runner::LlmRunner> draft);
  // The first input position whose draft KV is not valid for `in`.
  int num_valid(const SeqState& st, const ProposeInput& in) const;
  // Runs `batch` on the draft and appends one proposed token to each
  // drafting[i] (batch.seqs[i] is its step).
  Status draft_step(const runner::StepBatch& batch, std::vector<Drafting*>& drafting);

  std::unique_ptr<runner::LlmRunner> draft_;
  std::unordered_map<uint64_t, SeqState> seqs_;
  // Per draft block: the sequence whose KV it last received. Blocks move
  // between sequences (freed, preempted, reused), so a sequence's KV is
  // valid only in blocks no other sequence wrote since.
  std::vector<uint64_t> block_writer_;
};

}  // namespace pdserve::spec
