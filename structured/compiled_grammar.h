// CompiledGrammar: a Grammar bound to a Vocabulary, with the per-position
// token classification (token_classifier.h) computed on first use of each
// position and kept: the context-independent part of every mask. Shared by
// every matcher of the same constraint (GrammarCompiler caches them).
//
// Thread-safe: position_mask() may be called from many threads; a position
// computed twice concurrently keeps the first result.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "structured/grammar.h"
#include "structured/grammar_follow.h"
#include "structured/token_classifier.h"
#include "structured/vocabulary.h"

namespace pdserve::structured {

class CompiledGrammar {
 public:
  CompiledGrammar(Grammar grammar, std::shared_ptr<const Vocabulary> vocab);

  const Grammar& grammar() const { return grammar_; }
  const Vocabulary& vocabulary() const { return *vocab_; }

  // The classification of `position` (a byte element of grammar()).
  const PositionMask& position_mask(int32_t position) const;
  // Classifies every byte position now (benchmarks; warming a hot schema).
  void precompute_all() const;
  int32_t num_cached_positions() const;

 private:
  Grammar grammar_;
  std::shared_ptr<const Vocabulary> vocab_;
  GrammarFollow follow_;
  mutable std::mutex mu_;
  mutable std::unordered_map<int32_t, std::unique_ptr<const PositionMask>> masks_;
};

}  // namespace pdserve::structured
