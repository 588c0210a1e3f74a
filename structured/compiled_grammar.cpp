#include "structured/compiled_grammar.h"

#include <algorithm>

namespace pdserve::structured {

CompiledGrammar::CompiledGrammar(Grammar grammar, std::shared_ptr<const Vocabulary> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), follow_(compute_follow(grammar_)) {}

const PositionMask& CompiledGrammar::context_mask(const Stack& stack) const {
  size_t n = std::min(stack.size(), kContextFrames);
  Stack frames(stack.end() - static_cast<std::ptrdiff_t>(n), stack.end());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = masks_.find(frames);
    if (it != masks_.end()) return *it->second;
  }
  int32_t bottom_rule = follow_.rule_of_position[static_cast<size_t>(frames.front())];
  auto mask = std::make_unique<const PositionMask>(
      classify_tokens(grammar_, *vocab_, frames, follow_.follow[static_cast<size_t>(bottom_rule)]));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = masks_.emplace(std::move(frames), std::move(mask));
  return *it->second;
}

int32_t CompiledGrammar::num_cached_contexts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(masks_.size());
}

}  // namespace pdserve::structured
