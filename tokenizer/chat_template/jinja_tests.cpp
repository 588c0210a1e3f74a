#include "tokenizer/chat_template/jinja_tests.h"

#include <array>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/filters.h"
#include "tokenizer/chat_template/operators.h"
#include "tokenizer/chat_template/string_ops.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

constexpr std::array<std::string_view, 39> kTests = {
    "boolean", "callable", "defined",  "divisibleby", "eq",       "equalto", "escaped",
    "even",    "false",    "filter",   "float",       "ge",       "gt",      "greaterthan",
    "in",      "integer",  "iterable", "le",          "lessthan", "lower",   "lt",
    "mapping", "ne",       "none",     "number",      "odd",      "sameas",  "sequence",
    "string",  "test",     "true",     "undefined",   "upper",    "==",      "!=",
    "<",       "<=",       ">",        ">="};

const Value& arg0(const CallArgs& args, const std::string& name, int line) {
  if (args.positional.empty()) fail_at(line, "test '" + name + "' needs an argument");
  return args.positional[0];
}

}  // namespace

bool is_known_test(std::string_view name) {
  for (auto t : kTests) {
    if (t == name) return true;
  }
  return false;
}

bool apply_test(Evaluator& ev, const std::string& name, const Value& v, const CallArgs& args,
                int line) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "string") return v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "mapping") return v.is_dict();
  if (name == "callable") return v.is_callable();
  if (name == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "sequence") return v.is_undefined() || v.is_string() || v.is_list() || v.is_dict();
  if (name == "escaped") return false;
  if (name == "lower" || name == "upper") {
    // str(v).islower() / isupper(): some cased character, and all of them in that case.
    std::string t = v.to_str(), lo = py_lower(t), up = py_upper(t);
    return lo != up && (name == "lower" ? lo == t : up == t);
  }
  // value % 2 == 1 etc., with Python's % (floats allowed, other types an error).
  if (name == "odd" || name == "even") {
    Value m = arithmetic(ev, "%", v, Value::integer(2), line);
    return values_equal(m, Value::integer(name == "odd" ? 1 : 0));
  }
  if (name == "divisibleby") {
    return values_equal(arithmetic(ev, "%", v, arg0(args, name, line), line), Value::integer(0));
  }
  if (name == "eq" || name == "equalto" || name == "==")
    return values_equal(v, arg0(args, name, line));
  if (name == "ne" || name == "!=") return !values_equal(v, arg0(args, name, line));
  if (name == "lt" || name == "lessthan" || name == "<")
    return less_than(v, arg0(args, name, line), "<", line);
  if (name == "gt" || name == "greaterthan" || name == ">")
    return less_than(arg0(args, name, line), v, ">", line);
  if (name == "le" || name == "<=") return !less_than(arg0(args, name, line), v, "<=", line);
  if (name == "ge" || name == ">=") return !less_than(v, arg0(args, name, line), ">=", line);
  if (name == "in") return contains(arg0(args, name, line), v, line);
  if (name == "sameas") {
    const Value& o = arg0(args, name, line);
    if (v.is_none() || v.is_bool() || v.is_undefined() || v.is_int())
      return v.kind() == o.kind() && values_equal(v, o);
    return false;
  }
  if (name == "filter") return v.is_string() && is_known_filter(v.str());
  if (name == "test") return v.is_string() && is_known_test(v.str());
  fail_at(line, "unsupported test '" + name + "'");
}

}  // namespace pdserve::chat_template
