// Lexer: template text -> tokens, with jinja2's whitespace rules as
// transformers configures them (trim_blocks, lstrip_blocks, "-"/"+" markers,
// newlines normalized, one trailing newline dropped). Comments vanish and
// {% raw %} blocks become text here. Throws TemplateError (caught by compile).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pdserve::chat_template {

enum class TokenType {
  kText,        // literal template text (already whitespace-controlled)
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kVarBegin,    // {{
  kVarEnd,      // }}
  kName,
  kString,  // text holds the unescaped value
  kInt,
  kFloat,
  kOperator,  // text holds the operator: "+", "//", "==", "(", ...
  kEnd,
};

struct Token {
  TokenType type;
  std::string text;
  int line = 1;
  int64_t int_value = 0;
  double float_value = 0;
};

std::vector<Token> tokenize(std::string_view source);

}  // namespace pdserve::chat_template
