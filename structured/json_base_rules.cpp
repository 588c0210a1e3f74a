#include "structured/json_base_rules.h"

namespace pdserve::structured {

std::string_view json_base_rules() {
  return R"(
json-value  ::= json-object | json-array | json-string | json-number | "true" | "false" | "null"
json-object ::= "{" ws ( json-member ( ws "," ws json-member )* ws )? "}"
json-member ::= json-string ws ":" ws json-value
json-array  ::= "[" ws ( json-value ( ws "," ws json-value )* ws )? "]"
json-string ::= "\"" json-char* "\""
json-char   ::= [^"\\\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" json-u4 )
json-u4     ::= [0-9a-cA-Ce-fE-F] hex hex hex | [dD] [0-7] hex hex
              | [dD] [89abAB] hex hex "\\u" [dD] [c-fC-F] hex hex
hex         ::= [0-9a-fA-F]
json-number ::= "-"? json-int ( "." [0-9]+ )? ( [eE] [-+]? [0-9]+ )?
json-int    ::= "0" | [1-9] [0-9]*
ws          ::= [ \t\n]{0,24}
)";
}

}  // namespace pdserve::structured
