// GrammarCompiler: compiles constraints against one vocabulary and keeps the
// most recently used CompiledGrammars (so a schema sent with every request
// is compiled once, and its per-position masks are computed once).
//
// Thread-safe. A failed compile is not cached.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/base/status.h"
#include "structured/compiled_grammar.h"
#include "structured/constraint.h"
#include "structured/vocabulary.h"

namespace pdserve::structured {

class GrammarCompiler {
 public:
  explicit GrammarCompiler(std::shared_ptr<const Vocabulary> vocab, size_t capacity = 128);

  Result<std::shared_ptr<const CompiledGrammar>> compile(const Constraint& constraint);

  size_t num_cached() const;

 private:
  using Entry = std::pair<std::string, std::shared_ptr<const CompiledGrammar>>;

  std::shared_ptr<const Vocabulary> vocab_;
  size_t capacity_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace pdserve::structured
