// CompiledGrammar: a Grammar bound to a Vocabulary, with the token
// classification (token_classifier.h) of the top kContextFrames frames of
// parse stacks, computed on first use of each such suffix and kept: the
// context-independent part of every mask. More than one frame matters: a
// character class is a rule of its own that ends after one character, while
// its caller (a string's `char*` loop) keeps going. Shared by every matcher of
// the same constraint (GrammarCompiler caches them).
//
// Thread-safe: context_mask() may be called from many threads; a suffix is
// classified once, by the first thread that needs it, while the others that
// need the same suffix wait for it (classifying a suffix at a 128k
// vocabulary takes tens of milliseconds: a step's rows often meet a new one
// together), and those that need other suffixes go on.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "structured/grammar.h"
#include "structured/grammar_follow.h"
#include "structured/stack_set.h"
#include "structured/token_classifier.h"
#include "structured/vocabulary.h"

namespace pdserve::structured {

class CompiledGrammar {
 public:
  CompiledGrammar(Grammar grammar, std::shared_ptr<const Vocabulary> vocab);

  const Grammar& grammar() const { return grammar_; }
  const Vocabulary& vocabulary() const { return *vocab_; }

  static constexpr size_t kContextFrames = 3;

  // The classification of the top frames of `stack` (non-empty; its top a
  // byte element of grammar()).
  const PositionMask& context_mask(const Stack& stack) const;
  int32_t num_cached_contexts() const;

 private:
  Grammar grammar_;
  std::shared_ptr<const Vocabulary> vocab_;
  GrammarFollow follow_;
  // A suffix's classification, computed once (by whoever calls first).
  struct Context {
    std::once_flag once;
    std::unique_ptr<const PositionMask> mask;
  };

  mutable std::mutex mu_;  // guards the map, not the Contexts' contents
  mutable std::map<Stack, std::unique_ptr<Context>> masks_;
};

}  // namespace pdserve::structured
