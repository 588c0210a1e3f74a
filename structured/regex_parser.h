// The regular-expression front end: a regex becomes an Expr (no rules).
// Supported: literals, `.` (any character but \n), [classes], \d \w \s and
// their negations, escapes (\n \t \xHH \uHHHH ...), groups ( ), (?: ),
// (?<name> ) and (?P<name> ), `|`, quantifiers * + ? {m} {m,} {m,n} (lazy
// forms too: same language), ^ at the start and $ at the end of a top-level
// alternative. Not supported, each a clear error: backreferences, lookaround,
// \b, inline flags, possessive quantifiers.
#pragma once

#include <string_view>

#include "common/base/status.h"
#include "structured/expr.h"

namespace pdserve::structured {

enum class RegexMatch {
  kFull,    // the text must match the whole regex (vLLM's guided_regex)
  kSearch,  // the regex must match somewhere in the text (JSON Schema's pattern):
            // an alternative without ^ may be preceded, one without $ followed,
            // by any characters
};

Result<Expr> parse_regex(std::string_view pattern, RegexMatch match = RegexMatch::kFull);

}  // namespace pdserve::structured
