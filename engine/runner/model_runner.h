// The seam between the scheduler and the model: the scheduler decides what
// each sequence computes in a step; a ModelRunner computes it on a backend
// and samples. Implementations: the real runner (engine/runner/), fakes in
// the scheduler's tests.
//
// Async scheduling: the scheduler may build step N+1 before it has seen the
// tokens sampled in step N. A decode input whose token is not known yet is
// written as kLastSampled; the runner substitutes the token it sampled for
// that sequence in its previous step. The runner therefore keeps, per
// sequence, the sampling state (params, prompt, tokens it sampled); the
// scheduler tells it when a sequence starts and ends.
//
// Thread-safety: one thread drives a runner; execute() of step N+1 is called
// only after execute() of step N returned (the lag is in the outputs the
// scheduler has processed, not in the runner).
#pragma once

#include <cstdint>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/sampled_token.h"
#include "common/protocol/sampling_params.h"

namespace pdserve::runner {

// The vocabulary the runner shares with every process (common/protocol/).
using protocol::SampledToken;
using protocol::SamplingParams;
using protocol::TokenLogprob;

inline constexpr int32_t kLastSampled = -1;

struct SequenceInfo {
  uint64_t seq_id = 0;
  std::vector<int32_t> prompt_ids;
  SamplingParams sampling;
  // Tokens generated before this runner saw the sequence (the first token
  // sampled by a remote prefill): they count for penalties, min_tokens and
  // the seeded draw index.
  std::vector<int32_t> output_ids;
};

// One sequence's work in one step.
struct SeqStep {
  uint64_t seq_id = 0;
  // Tokens whose KV this step computes: a prefill chunk (possibly the
  // prompt plus tokens generated before a recompute-preemption) or one
  // decode token (kLastSampled allowed).
  std::vector<int32_t> input_ids;
  // Tokens before input_ids whose KV is already in the cache; input_ids[i]
  // sits at position num_computed + i.
  int32_t num_computed = 0;
  // Physical KV block ids covering positions [0, num_computed + input_ids.size()).
  std::vector<int32_t> block_table;
  // Sample the next token from the last input's logits (last prefill chunk,
  // or decode). The sampled token is appended to the sequence's history.
  bool sample = false;
  // Speculative decoding (with sample): the last num_draft_tokens inputs are
  // proposed tokens to verify; the step emits 1 to num_draft_tokens + 1
  // tokens (the accepted proposals, then one sampled token). KV written for
  // rejected proposals is garbage the scheduler never counts as computed.
  int32_t num_draft_tokens = 0;
  // Speculative decoding (with sample): propose up to this many tokens to
  // follow the emitted ones (StepOutput::drafts), for the next step. The
  // block table covers num_computed + input_ids.size() + num_propose
  // positions (a draft model writes its KV there).
  int32_t num_propose = 0;
};

// Moves one block's KV (every layer) between the device pool and the
// host-memory tier (swap preemption).
struct BlockCopy {
  int32_t src = 0;
  int32_t dst = 0;
};

struct StepBatch {
  // Done before any compute of this step, in this order.
  std::vector<BlockCopy> swap_out;  // device block -> host block
  std::vector<BlockCopy> swap_in;   // host block -> device block
  std::vector<SeqStep> seqs;        // may be empty (a step that only swaps)
};

// Tokens proposed for a sequence's next step (speculative decoding).
struct DraftTokens {
  uint64_t seq_id = 0;
  std::vector<int32_t> token_ids;
};

struct StepOutput {
  // Per SeqStep with sample == true, in batch order: one token, or with
  // num_draft_tokens d, 1 to d + 1 consecutive tokens of that sequence.
  std::vector<SampledToken> sampled;
  // Per SeqStep with num_propose > 0 whose proposer found any (in batch order).
  std::vector<DraftTokens> drafts;
};

class ModelRunner {
 public:
  virtual ~ModelRunner() = default;

  virtual Status add_sequence(const SequenceInfo& info) = 0;
  // Forgets a sequence's sampling state (finished, aborted).
  virtual void remove_sequence(uint64_t seq_id) = 0;
  // Computes the batch's KV into its blocks and samples where asked. Fails
  // (without side effects on other sequences' blocks) on a bad batch: an
  // unknown seq_id, a block id out of range, too few blocks.
  virtual Result<StepOutput> execute(const StepBatch& batch) = 0;

  // KV geometry the scheduler allocates against.
  virtual int block_size() const = 0;       // tokens per block
  virtual int num_blocks() const = 0;       // physical blocks in the device pool
  virtual int num_host_blocks() const = 0;  // blocks in the host tier (0: no swapping)
  virtual int max_model_len() const = 0;
  virtual int vocab_size() const = 0;  // token ids are in [0, vocab_size)
  virtual const std::vector<int32_t>& eos_token_ids() const = 0;
};

}  // namespace pdserve::runner
