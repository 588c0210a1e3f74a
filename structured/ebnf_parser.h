// The EBNF (GBNF, llama.cpp's dialect) front end:
//
//   root   ::= "{" ws pair ("," ws pair)* "}"   # comments run to the line end
//   pair   ::= [a-z]+ ":" ws ( number | "null" )
//   number ::= "-"? [0-9]+ ("." [0-9]+)?
//   ws     ::= [ \t\n]*
//
// Terms: "literal" (escapes \n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH), [class]
// with ^ and ranges, `.` (any character), a rule name, ( group ); postfix
// * + ? {m} {m,} {m,n}; `|` between alternatives. Rules may refer to each
// other in any order and recursively (not left-recursively).
#pragma once

#include <string_view>

#include "common/base/status.h"
#include "structured/grammar.h"
#include "structured/grammar_builder.h"

namespace pdserve::structured {

// Parses `text` and builds it with `root` as the start rule. Errors name the
// offset or the rule: syntax errors, undefined or twice-defined rules, left
// recursion, a missing root.
Result<Grammar> parse_ebnf(std::string_view text, std::string_view root = "root");

// Adds the rules of `text` to `builder` (a name it already has refers to that
// rule; a rule defined in `text` must not be defined there yet).
Status add_ebnf_rules(std::string_view text, GrammarBuilder* builder);

}  // namespace pdserve::structured
