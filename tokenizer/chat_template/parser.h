// Parser: tokens -> statement tree, checking everything that can be checked
// before a request arrives: tags, filters, tests and functions outside the
// supported subset, break outside a loop, nesting depth (bounded so neither
// parsing nor rendering can overflow the stack). Throws TemplateError
// ("chat template line 3: unsupported filter 'wordwrap'").
#pragma once

#include <vector>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/lexer.h"

namespace pdserve::chat_template {

inline constexpr int kMaxBlockNesting = 64;  // nested {% if %}/{% for %}/... levels
inline constexpr int kMaxExprNesting = 128;  // nested parentheses/brackets/unary operators
inline constexpr int kMaxExprDepth = 128;    // height of one expression tree

Body parse_template(const std::vector<Token>& tokens);

}  // namespace pdserve::chat_template
