#include "tokenizer/chat_template/operators.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

[[noreturn]] void type_error(const std::string& op, const Value& a, const Value& b, int line) {
  fail_at(line, "unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" +
                    b.type_name() + "'");
}

Value repeat(Evaluator& ev, const Value& seq, int64_t n, int line) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    size_t total = seq.str().size() * static_cast<size_t>(n);
    if (n != 0 && total / static_cast<size_t>(n) != seq.str().size())
      fail_limit(line, "string too large");
    ev.charge(total, line);
    std::string out;
    out.reserve(total);
    for (int64_t i = 0; i < n; ++i) out += seq.str();
    return Value::string(std::move(out));
  }
  size_t count = seq.items().size() * static_cast<size_t>(n);
  ev.charge(count * sizeof(Value), line);
  std::vector<Value> out;
  out.reserve(count);
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
  return Value::list(std::move(out), seq.list_data().is_tuple);
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

}  // namespace

void undefined_error(const Value& v, int line) {
  fail_at(line, v.undefined_hint());
}

Value arithmetic(Evaluator& ev, const std::string& op, const Value& a, const Value& b, int line) {
  if (a.is_undefined()) undefined_error(a, line);
  if (b.is_undefined()) undefined_error(b, line);
  if (a.is_number() && b.is_number()) {
    bool use_float = a.is_float() || b.is_float() || op == "/";
    if (op == "**" && !use_float && b.as_integer() < 0) use_float = true;
    if (use_float) {
      double x = a.as_double(), y = b.as_double();
      if (op == "+") return Value::floating(x + y);
      if (op == "-") return Value::floating(x - y);
      if (op == "*") return Value::floating(x * y);
      if (op == "**") {
        if (x == 0 && y < 0) fail_at(line, "0.0 cannot be raised to a negative power");
        return Value::floating(std::pow(x, y));
      }
      if (y == 0) fail_at(line, op == "/" ? "division by zero" : "float modulo");
      if (op == "/") return Value::floating(x / y);
      if (op == "//") return Value::floating(std::floor(x / y));
      double m = std::fmod(x, y);
      if (m != 0 && ((m < 0) != (y < 0))) m += y;
      return Value::floating(m);
    }
    int64_t x = a.as_integer(), y = b.as_integer(), r = 0;
    bool overflow = false;
    if (op == "+") {
      overflow = __builtin_add_overflow(x, y, &r);
    } else if (op == "-") {
      overflow = __builtin_sub_overflow(x, y, &r);
    } else if (op == "*") {
      overflow = __builtin_mul_overflow(x, y, &r);
    } else if (op == "**") {
      r = 1;
      for (int64_t i = 0; i < y && !overflow; ++i) {
        overflow = __builtin_mul_overflow(r, x, &r);
        if (r == 0 || r == 1) break;
      }
      if (x == -1) r = (y % 2) ? -1 : 1;
    } else {
      if (y == 0) fail_at(line, "integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        overflow = true;
      } else {
        int64_t q = floor_div(x, y);
        r = op == "//" ? q : x - q * y;
      }
    }
    if (overflow) fail_at(line, "integer overflow in '" + op + "' (beyond 64 bits)");
    return Value::integer(r);
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      ev.charge(a.str().size() + b.str().size(), line);
      return Value::string(a.str() + b.str());
    }
    if (a.is_list() && b.is_list() && a.list_data().is_tuple == b.list_data().is_tuple) {
      ev.charge((a.items().size() + b.items().size()) * sizeof(Value), line);
      std::vector<Value> out = a.items();
      out.insert(out.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(out), a.list_data().is_tuple);
    }
    if (a.is_string()) {
      fail_at(line, "can only concatenate str (not \"" + b.type_name() + "\") to str");
    }
    if (a.is_list()) {
      fail_at(line, "can only concatenate " + a.type_name() + " (not \"" + b.type_name() +
                        "\") to " + a.type_name());
    }
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) {
      return repeat(ev, a, b.as_integer(), line);
    }
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) {
      return repeat(ev, b, a.as_integer(), line);
    }
  }
  if (op == "%" && a.is_string()) fail_at(line, "unsupported: printf-style '%' string formatting");
  type_error(op, a, b, line);
}

bool contains(const Value& container, const Value& item, int line) {
  switch (container.kind()) {
    case Kind::kUndefined: return false;
    case Kind::kString:
      if (!item.is_string()) {
        fail_at(line, "'in <string>' requires string as left operand, not " + item.type_name());
      }
      return container.str().find(item.str()) != std::string::npos;
    case Kind::kList:
      for (const Value& v : container.items()) {
        if (values_equal(v, item)) return true;
      }
      return false;
    case Kind::kDict:
      if (item.is_list() && !item.list_data().is_tuple) fail_at(line, "unhashable type: 'list'");
      if (item.is_dict() || item.is_namespace()) fail_at(line, "unhashable type: 'dict'");
      return item.is_string() && container.dict_data().find(item.str());
    default: fail_at(line, "argument of type '" + container.type_name() + "' is not iterable");
  }
}

bool less_than(const Value& a, const Value& b, const char* op, int line) {
  if (a.is_undefined()) undefined_error(a, line);
  if (b.is_undefined()) undefined_error(b, line);
  bool ok = true;
  bool r = value_less(a, b, &ok);
  if (!ok) {
    fail_at(line, std::string("'") + op + "' not supported between instances of '" + a.type_name() +
                      "' and '" + b.type_name() + "'");
  }
  return r;
}

Value slice(Evaluator& ev, const Value& obj, const Value& start, const Value& stop,
            const Value& step, int line) {
  if (obj.is_undefined()) undefined_error(obj, line);
  if (!obj.is_string() && !obj.is_list()) {
    fail_at(line, "'" + obj.type_name() + "' object is not subscriptable");
  }
  auto index = [&](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) {
      fail_at(line, std::string("slice ") + what + " must be an integer or None");
    }
    return v.as_integer();
  };
  std::optional<int64_t> b = index(start, "indices"), e = index(stop, "indices"),
                         st = index(step, "indices");
  int64_t s = st.value_or(1);
  if (s == 0) fail_at(line, "slice step cannot be zero");
  std::vector<size_t> offsets;
  int64_t n;
  if (obj.is_string()) {
    offsets = utf8_offsets(obj.str());
    n = static_cast<int64_t>(offsets.size()) - 1;
  } else {
    n = static_cast<int64_t>(obj.items().size());
  }
  auto clamp = [&](std::optional<int64_t> v, int64_t def) {
    if (!v) return def;
    int64_t x = *v;
    if (x < 0) x += n;
    if (s > 0) return std::clamp<int64_t>(x, 0, n);
    return std::clamp<int64_t>(x, -1, n - 1);
  };
  int64_t lo = clamp(b, s > 0 ? 0 : n - 1);
  int64_t hi = clamp(e, s > 0 ? n : -1);
  std::vector<int64_t> picks;
  for (int64_t i = lo; s > 0 ? i < hi : i > hi; i += s) picks.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : picks) out += obj.str().substr(offsets[i], offsets[i + 1] - offsets[i]);
    ev.charge(out.size(), line);
    return Value::string(std::move(out));
  }
  ev.charge(picks.size() * sizeof(Value), line);
  std::vector<Value> out;
  out.reserve(picks.size());
  for (int64_t i : picks) out.push_back(obj.items()[i]);
  return Value::list(std::move(out), obj.list_data().is_tuple);
}

}  // namespace pdserve::chat_template
