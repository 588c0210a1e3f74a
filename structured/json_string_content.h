// String constraints inside JSON: an Expr over characters (from a regex or a
// format) rewritten to match the JSON string content that encodes them:
// '"', '\' and control characters only as escapes (\" \\ \n \u001F ...).
#pragma once

#include <string_view>

#include "common/base/status.h"
#include "structured/expr.h"

namespace pdserve::structured {

Expr to_json_string_content(const Expr& text);

// The regex (full match) of a JSON Schema string format, or an error naming
// an unknown format.
Result<std::string_view> format_regex(std::string_view format);

}  // namespace pdserve::structured
