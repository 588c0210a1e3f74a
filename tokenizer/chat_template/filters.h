// Filters (`x | name(args)`): jinja2's builtin filters that chat templates use,
// and transformers' tojson. is_known_filter is what compile() checks against.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

bool is_known_filter(std::string_view name);
Value apply_filter(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args,
                   int line);

}  // namespace pdserve::chat_template
