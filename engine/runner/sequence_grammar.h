// SequenceGrammar: one sequence's structured-output constraint in the
// runner. Before each sample the masks of the tokens the constraint allows
// next are prepared (prepare(), on the runner's mask thread while the
// step's forward pass runs: MaskWorker), then applied where the row is
// sampled: as an allowed-token bitmask written straight into the upload
// buffer that the backend applies (on the device for CUDA, as xgrammar's
// bitmask in vLLM), or on host rows (speculative verification); each
// emitted token then advances the matcher. Speculative
// proposals get one mask per row, as the output stands after the drafts
// before it; the matcher ends where it began.
//
// A stop token is allowed only once the output is complete; after it (or
// when nothing else is allowed, with ignore_eos) only the stop tokens are.
// Not thread-safe: one per sequence; prepare() may run on another thread
// than the other calls, never at the same time as any of them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/output_constraint.h"
#include "structured/grammar_compiler.h"
#include "structured/grammar_matcher.h"

namespace pdserve::runner {

class SequenceGrammar {
 public:
  // Compiles `constraint` (through the compiler's cache) and accepts the
  // tokens already generated (a remote prefill's first token). Fails with
  // kInvalidArgument when the constraint is invalid or those tokens break it.
  static Result<std::unique_ptr<SequenceGrammar>> create(
      structured::GrammarCompiler& compiler, const protocol::OutputConstraint& constraint,
      std::span<const int32_t> output_ids);

  // Computes the masks of the next sample's rows: row i as the output stands
  // after drafts[0, i), for i up to drafts.size(); rows past the first draft
  // the constraint refuses are not computed (verification rejects that
  // draft, so they are never used). The matcher ends where it began.
  Status prepare(std::span<const int32_t> drafts = {});
  // rows [k, vocab], k >= the rows prepare() computed: in each computed row
  // the tokens not allowed become -inf (ids past the tokenizer's vocabulary
  // included); the other rows are left as they are.
  void apply(std::span<float> rows, size_t vocab) const;
  // words [backend::mask_words(vocab)] (token t: bit t % 32 of word t / 32)
  // := the first prepared row: a bit set for each token it allows (none past
  // the tokenizer's vocabulary).
  void write_bits(std::span<uint32_t> words) const;
  // Advances by an emitted token. kInvalidArgument when the constraint does
  // not allow it (or cannot follow it: too ambiguous).
  Status accept(int32_t token_id);

 private:
  explicit SequenceGrammar(std::shared_ptr<const structured::CompiledGrammar> compiled);
  // rows_[i] := the tokens allowed next as the matcher stands.
  void fill(size_t i);

  structured::GrammarMatcher matcher_;
  std::vector<structured::TokenBitmask> rows_;  // reused from step to step
  size_t num_rows_ = 0;                         // prepared by the last prepare()
  std::shared_ptr<const structured::CompiledGrammar> compiled_;
};

}  // namespace pdserve::runner
