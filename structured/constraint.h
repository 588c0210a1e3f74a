// Constraint: what a request asks its output to follow, as every API field
// names it (response_format, structured_outputs, guided_*, tool_choice), and
// the one function that turns any of them into a Grammar.
#pragma once

#include <cstddef>

#include "common/base/status.h"
#include "common/protocol/output_constraint.h"
#include "structured/grammar.h"

namespace pdserve::structured {

// The request's constraint as every floor carries it (common/protocol).
using Constraint = protocol::OutputConstraint;

// Most bytes of a constraint's text (or of all its choices together).
inline constexpr size_t kMaxConstraintBytes = size_t{1} << 20;

// Fails, with a message naming the problem, on an invalid or unsupported
// constraint or one past kMaxConstraintBytes.
Result<Grammar> build_grammar(const Constraint& constraint);

}  // namespace pdserve::structured
