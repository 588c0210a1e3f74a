#include "structured/grammar_compiler.h"

namespace pdserve::structured {

GrammarCompiler::GrammarCompiler(std::shared_ptr<const Vocabulary> vocab, size_t capacity)
    : vocab_(std::move(vocab)), capacity_(capacity) {}

Result<std::shared_ptr<const CompiledGrammar>> GrammarCompiler::compile(const Constraint& c) {
  std::string key = c.cache_key();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
  }
  PD_ASSIGN_OR_RETURN(Grammar grammar, build_grammar(c));
  auto compiled = std::make_shared<const CompiledGrammar>(std::move(grammar), vocab_);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it != index_.end()) return it->second->second;
  lru_.emplace_front(key, compiled);
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  return std::shared_ptr<const CompiledGrammar>(compiled);
}

size_t GrammarCompiler::num_cached() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

}  // namespace pdserve::structured
