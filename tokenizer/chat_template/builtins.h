// The global functions a template can call: range, namespace, dict,
// raise_exception and strftime_now (the last two are transformers' additions).
#pragma once

#include <string_view>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

bool is_builtin_function(std::string_view name);
// Undefined when `name` is not a builtin.
Value builtin_function(std::string_view name);

}  // namespace pdserve::chat_template
