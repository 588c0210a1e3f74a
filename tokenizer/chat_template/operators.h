// Python's operators over Values: arithmetic with int/float rules (floor
// division and modulo, int overflow is an error instead of a bigint), string
// and list concatenation and repetition, `in`, ordering, slicing.
#pragma once

#include <string>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

// An operation on Undefined: jinja2's UndefinedError with its message.
[[noreturn]] void undefined_error(const Value& v, int line);
// op: + - * / // % **
Value arithmetic(Evaluator& ev, const std::string& op, const Value& a, const Value& b, int line);
// Python `item in container`.
bool contains(const Value& container, const Value& item, int line);
// Python a < b, with TypeError for unorderable types; op names the operator for the message.
bool less_than(const Value& a, const Value& b, const char* op, int line);
// obj[start:stop:step] over lists, tuples and strings (code points); omitted bounds are Undefined.
Value slice(Evaluator& ev, const Value& obj, const Value& start, const Value& stop,
            const Value& step, int line);

}  // namespace pdserve::chat_template
