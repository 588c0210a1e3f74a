// SequenceGrammar: one sequence's structured-output constraint in the
// runner. Before each sample the tokens the constraint does not allow next
// are cleared from the row's allowed-token mask, which the backend applies
// where it samples (the device for CUDA, as xgrammar's bitmask in vLLM);
// each emitted token then advances the matcher. Speculative proposals are masked row by row and the
// matcher is rolled back to where it was (mask_drafts).
//
// A stop token is allowed only once the output is complete; after it (or
// when nothing else is allowed, with ignore_eos) only the stop tokens are.
// Not thread-safe: one per sequence, used by the runner's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

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

  // logits [vocab]: the tokens not allowed next become -inf (ids past the
  // tokenizer's vocabulary included).
  void mask(std::span<float> logits);
  // words [backend::mask_words(vocab)] (token t: bit t % 32 of word t / 32):
  // the bits of the tokens not allowed next are cleared (ids past the
  // tokenizer's vocabulary included), the others kept.
  void mask_bits(std::span<uint32_t> words);
  // rows [drafts.size() + 1, vocab]: row i masked as the output stands after
  // drafts[0, i). Rows past the first draft the constraint refuses are left
  // as they are (verification rejects that draft, so they are never used).
  // The matcher ends where it began.
  Status mask_drafts(std::span<float> rows, size_t vocab, std::span<const int32_t> drafts);
  // Advances by an emitted token. kInvalidArgument when the constraint does
  // not allow it (or cannot follow it: too ambiguous).
  Status accept(int32_t token_id);

 private:
  explicit SequenceGrammar(std::shared_ptr<const structured::CompiledGrammar> compiled);

  // allowed_ <- the tokens allowed next (the stop tokens when none is).
  void fill_allowed();

  structured::GrammarMatcher matcher_;
  structured::TokenBitmask allowed_;
  std::shared_ptr<const structured::CompiledGrammar> compiled_;
};

}  // namespace pdserve::runner
