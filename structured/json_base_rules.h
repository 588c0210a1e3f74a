// The generic JSON rules (json-value, json-object, json-array, json-string,
// json-char, json-number, ws) as EBNF, added to a builder by every JSON
// constraint. json-char is one character of a string's content (an escape
// included; \u escapes name a character, surrogates only in valid pairs).
#pragma once

#include <string_view>

namespace pdserve::structured {

// The EBNF text; `ws` allows up to 24 characters (a bound, so whitespace cannot run forever).
std::string_view json_base_rules();

}  // namespace pdserve::structured
