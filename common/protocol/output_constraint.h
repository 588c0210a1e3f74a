// OutputConstraint: what a request asks its output to follow (structured
// outputs), as every floor carries it: the router fills it from
// response_format / structured_outputs / guided_* / tool_choice, the internal
// API sends it with the sampling params, and the engine compiles it
// (structured/constraint.h) into a per-token mask.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pdserve::protocol {

struct OutputConstraint {
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

// "json_schema", "json_object", "regex", "choice", "grammar".
std::string_view constraint_kind_name(OutputConstraint::Kind kind);
// The kind of a name above; nullopt for any other.
std::optional<OutputConstraint::Kind> constraint_kind_from_name(std::string_view name);

}  // namespace pdserve::protocol
