#include "common/protocol/output_constraint.h"

#include <array>
#include <utility>

namespace pdserve::protocol {
namespace {

using Kind = OutputConstraint::Kind;

constexpr std::array<std::pair<Kind, std::string_view>, 5> kNames = {{
    {Kind::kJsonSchema, "json_schema"},
    {Kind::kJsonObject, "json_object"},
    {Kind::kRegex, "regex"},
    {Kind::kChoice, "choice"},
    {Kind::kGrammar, "grammar"},
}};

}  // namespace

std::string OutputConstraint::cache_key() const {
  std::string key = std::to_string(static_cast<int>(kind)) + ":";
  if (kind != Kind::kChoice) return key + text;
  for (const std::string& c : choices) key += std::to_string(c.size()) + ":" + c;
  return key;
}

std::string_view constraint_kind_name(Kind kind) {
  for (const auto& [k, name] : kNames)
    if (k == kind) return name;
  return "";
}

std::optional<Kind> constraint_kind_from_name(std::string_view name) {
  for (const auto& [k, n] : kNames)
    if (n == name) return k;
  return std::nullopt;
}

}  // namespace pdserve::protocol
