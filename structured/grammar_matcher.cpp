#include "structured/grammar_matcher.h"

namespace pdserve::structured {

GrammarMatcher::GrammarMatcher(std::shared_ptr<const CompiledGrammar> compiled)
    : compiled_(std::move(compiled)) {
  history_.push_back(initial_stacks(compiled_->grammar()));
}

bool GrammarMatcher::token_fits(const Stack& stack, int32_t token_id) const {
  StackSet out;
  return advance_bytes(compiled_->grammar(), StackSet{stack},
                       compiled_->vocabulary().bytes(token_id), &out, kMaxLiveStacks);
}

void GrammarMatcher::fill_next_token_mask(TokenBitmask* mask) const {
  const Vocabulary& vocab = compiled_->vocabulary();
  if (mask->num_tokens() != vocab.size()) {
    *mask = TokenBitmask(vocab.size());
  } else {
    mask->clear();
  }
  if (terminated_) return;
  const StackSet& stacks = history_.back();
  for (const Stack& s : stacks) {
    if (s.empty()) {
      for (int32_t id : vocab.stop_token_ids()) mask->set(id);
    } else {
      mask->merge(compiled_->context_mask(s).accepted);
    }
  }
  for (const Stack& s : stacks) {
    if (s.empty()) continue;
    for (int32_t id : compiled_->context_mask(s).uncertain) {
      if (!mask->test(id) && token_fits(s, id)) mask->set(id);
    }
  }
}

Status GrammarMatcher::accept_token(int32_t token_id) {
  const Vocabulary& vocab = compiled_->vocabulary();
  if (token_id < 0 || token_id >= vocab.size()) {
    return invalid_argument("structured: token id " + std::to_string(token_id) +
                            " is outside the vocabulary");
  }
  if (terminated_) return failed_precondition("structured: the constrained output has ended");
  if (vocab.is_stop(token_id)) {
    if (!is_complete()) {
      return invalid_argument("structured: stop token " + std::to_string(token_id) +
                              " before the constrained output is complete");
    }
    history_.push_back(history_.back());
    terminated_ = true;
    return ok_status();
  }
  StackSet next;
  std::string_view bytes = vocab.bytes(token_id);
  if (bytes.empty() ||
      !advance_bytes(compiled_->grammar(), history_.back(), bytes, &next, kMaxLiveStacks)) {
    if (!next.empty()) {
      return resource_exhausted("structured: the constraint is too ambiguous here (more than " +
                                std::to_string(kMaxLiveStacks) + " live parses)");
    }
    return invalid_argument("structured: token " + std::to_string(token_id) +
                            " does not fit the constraint here");
  }
  history_.push_back(std::move(next));
  return ok_status();
}

Status GrammarMatcher::rollback(int32_t num_tokens) {
  if (num_tokens < 0 || num_tokens > num_accepted_tokens()) {
    return out_of_range("structured: cannot roll back " + std::to_string(num_tokens) + " of " +
                        std::to_string(num_accepted_tokens()) + " accepted tokens");
  }
  if (num_tokens > 0) terminated_ = false;
  history_.resize(history_.size() - static_cast<size_t>(num_tokens));
  return ok_status();
}

}  // namespace pdserve::structured
