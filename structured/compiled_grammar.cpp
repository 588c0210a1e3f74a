#include "structured/compiled_grammar.h"

namespace pdserve::structured {

CompiledGrammar::CompiledGrammar(Grammar grammar, std::shared_ptr<const Vocabulary> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), follow_(compute_follow(grammar_)) {}

const PositionMask& CompiledGrammar::position_mask(int32_t position) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = masks_.find(position);
    if (it != masks_.end()) return *it->second;
  }
  auto mask = std::make_unique<const PositionMask>(classify_tokens(
      grammar_, *vocab_, position,
      follow_
          .follow[static_cast<size_t>(follow_.rule_of_position[static_cast<size_t>(position)])]));
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = masks_.emplace(position, std::move(mask));
  return *it->second;
}

void CompiledGrammar::precompute_all() const {
  const auto& elements = grammar_.elements();
  for (size_t pos = 0; pos < elements.size(); ++pos) {
    if (elements[pos].kind == Element::Kind::kBytes) position_mask(static_cast<int32_t>(pos));
  }
}

int32_t CompiledGrammar::num_cached_positions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(masks_.size());
}

}  // namespace pdserve::structured
