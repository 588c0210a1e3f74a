// Checks a flat Grammar can be run by the pushdown recognizer: no rule is
// left-recursive (directly, or through rules that can match "") and every
// rule derives at least one finite string. The error names the rule.
#pragma once

#include "common/base/status.h"
#include "structured/grammar.h"

namespace pdserve::structured {

Status check_grammar(const Grammar& grammar);

}  // namespace pdserve::structured
