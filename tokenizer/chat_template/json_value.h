// JSON <-> Value. Parsing keeps Python's view of the data (int vs float,
// key order); dumping is Python's json.dumps(ensure_ascii=False, indent,
// separators, sort_keys=False) as transformers' tojson filter calls it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

inline constexpr int kMaxJsonDepth = 128;

// Throws TemplateError on invalid JSON or nesting deeper than kMaxJsonDepth.
Value value_from_json(std::string_view json);

struct JsonDumpOptions {
  std::optional<std::string> indent;  // nullopt: single line
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX (surrogate pairs past U+FFFF)
};
// Throws TemplateError (kInvalidArgument) for values JSON cannot hold.
std::string value_to_json(const Value& v, const JsonDumpOptions& options, int line);

}  // namespace pdserve::chat_template
