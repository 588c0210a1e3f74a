// GrammarMatcher: one request's position in a compiled constraint. The
// engine asks for the mask of allowed next tokens, samples under it, then
// accepts the sampled token; speculative tokens are accepted one by one and
// the rejected ones rolled back.
//
//   fill_next_token_mask -> sample -> accept_token -> ... -> stop token
//                                          |                (terminated)
//                                     rollback(k)
//
// Not thread-safe (one matcher per sequence); the CompiledGrammar it shares is.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/base/status.h"
#include "structured/compiled_grammar.h"
#include "structured/stack_set.h"
#include "structured/token_bitmask.h"

namespace pdserve::structured {

class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<const CompiledGrammar> compiled);

  // Sets exactly the tokens that keep the output a viable prefix of the
  // constraint (a stop token only when the output is complete); *mask is
  // resized to the vocabulary. All clear once terminated. (Tokens are judged
  // parse by parse: one may still be refused by accept_token when all the
  // parses together would pass kMaxLiveStacks.)
  void fill_next_token_mask(TokenBitmask* mask) const;
  // Advances by `token_id`. Fails, changing nothing, when the token is not
  // allowed here, is outside the vocabulary, the matcher is terminated, or
  // the token would leave more than kMaxLiveStacks live parses
  // (kResourceExhausted: the constraint is too ambiguous to follow).
  // A stop token terminates the matcher.
  Status accept_token(int32_t token_id);
  // Undoes the last `num_tokens` accepted tokens (a terminated matcher comes
  // back to life when its stop token is undone). Fails when fewer were accepted.
  Status rollback(int32_t num_tokens);

  bool is_terminated() const { return terminated_; }
  // The output so far is a complete match (a stop token would be allowed).
  bool is_complete() const { return has_empty_stack(history_.back()); }
  int32_t num_accepted_tokens() const { return static_cast<int32_t>(history_.size()) - 1; }

 private:
  bool token_fits(const Stack& stack, int32_t token_id) const;

  std::shared_ptr<const CompiledGrammar> compiled_;
  // history_[k]: the stacks after k accepted tokens (a stop token repeats the last).
  std::vector<StackSet> history_;
  bool terminated_ = false;
};

}  // namespace pdserve::structured
