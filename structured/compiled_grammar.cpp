#include "structured/compiled_grammar.h"

#include <algorithm>

namespace pdserve::structured {

CompiledGrammar::CompiledGrammar(Grammar grammar, std::shared_ptr<const Vocabulary> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), follow_(compute_follow(grammar_)) {}

const PositionMask& CompiledGrammar::context_mask(const Stack& stack) const {
  size_t n = std::min(stack.size(), kContextFrames);
  Stack frames(stack.end() - static_cast<std::ptrdiff_t>(n), stack.end());
  Context* context;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<Context>& slot = masks_[frames];
    if (!slot) slot = std::make_unique<Context>();
    context = slot.get();  // never moves nor dies before the grammar
  }
  std::call_once(context->once, [&] {
    int32_t bottom_rule = follow_.rule_of_position[static_cast<size_t>(frames.front())];
    context->mask = std::make_unique<const PositionMask>(classify_tokens(
        grammar_, *vocab_, frames, follow_.follow[static_cast<size_t>(bottom_rule)]));
  });
  return *context->mask;
}

int32_t CompiledGrammar::num_cached_contexts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(masks_.size());
}

}  // namespace pdserve::structured
