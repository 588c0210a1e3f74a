// Methods of str and dict that the sandbox allows and chat templates call:
// "a".strip(), s.split("x"), d.items(), d.get("k", default), ...
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

// Any type's method of that name is supported (the compile-time check).
bool is_known_method(std::string_view name);
// obj has a method called name (str: strip/split/...; dict: items/keys/values/get).
bool has_method(const Value& obj, std::string_view name);
// A callable bound to obj (for `obj.name` used without a call).
Value bound_method(const Value& obj, const std::string& name);
Value call_method(Evaluator& ev, const Value& obj, const std::string& name, const CallArgs& args,
                  int line);

}  // namespace pdserve::chat_template
