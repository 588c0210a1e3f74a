// The JSON Schema front end: a schema (JSON text) becomes a Grammar whose
// strings are exactly the compact-or-spaced JSON texts valid under it.
//
// Supported: type (one or a list), enum, const, anyOf, oneOf (as anyOf: the
// grammar cannot exclude overlaps), allOf of one schema, $ref into the same
// document (#, #/$defs/..., #/definitions/..., recursion included), $defs;
// objects: properties (in the schema's order), required, additionalProperties
// (false, or absent next to properties: no other keys; true, a schema, or
// absent without properties: any keys, only without properties); arrays: items, minItems, maxItems;
// strings: minLength, maxLength, pattern (ECMAScript search semantics), format (date-time, date,
// time, uuid, email, ipv4, hostname, uri); numbers and integers: minimum,
// maximum, exclusiveMinimum, exclusiveMaximum (integer-valued bounds;
// a bounded number has no exponent); boolean; null. Annotations (title,
// description, default, examples, ...) are ignored. Every other keyword is
// an error naming it and where it is, never silently ignored.
// Whitespace: up to 24 spaces, tabs or newlines between tokens (json_base_rules).
#pragma once

#include <string_view>

#include "common/base/status.h"
#include "structured/grammar.h"

namespace pdserve::structured {

Result<Grammar> json_schema_grammar(std::string_view schema_json);

// Any JSON object (OpenAI's response_format json_object).
Result<Grammar> json_object_grammar();

}  // namespace pdserve::structured
