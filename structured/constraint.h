// Constraint: what a request asks its output to follow, as every API field
// names it (response_format, structured_outputs, guided_*), and the one
// function that turns any of them into a Grammar.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "structured/grammar.h"

namespace pdserve::structured {

struct Constraint {
  enum class Kind {
    kJsonSchema,  // text: the schema as JSON
    kJsonObject,  // any JSON object
    kRegex,       // text: a regex the whole output must match
    kChoice,      // choices: the output is exactly one of them
    kGrammar,     // text: EBNF (GBNF) with a rule named root
  };
  Kind kind = Kind::kJsonObject;
  std::string text;
  std::vector<std::string> choices;

  // Equal for constraints that compile to the same grammar.
  std::string cache_key() const;
};

// Most bytes of a constraint's text (or of all its choices together).
inline constexpr size_t kMaxConstraintBytes = size_t{1} << 20;

// Fails, with a message naming the problem, on an invalid or unsupported
// constraint or one past kMaxConstraintBytes.
Result<Grammar> build_grammar(const Constraint& constraint);

}  // namespace pdserve::structured
