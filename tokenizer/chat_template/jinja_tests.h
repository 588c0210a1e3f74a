// Tests (`x is name(args)`): jinja2's builtin tests. is_known_test is what
// compile() checks against.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

bool is_known_test(std::string_view name);
bool apply_test(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args,
                int line);

}  // namespace pdserve::chat_template
