#include "tokenizer/chat_template/filters.h"

#include <array>
#include <charconv>
#include <cmath>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/filter_args.h"
#include "tokenizer/chat_template/json_value.h"
#include "tokenizer/chat_template/methods.h"
#include "tokenizer/chat_template/operators.h"
#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/string_ops.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

constexpr std::array<std::string_view, 42> kFilters = {
    "abs",      "attr",   "batch",  "capitalize", "count",      "d",           "default",
    "dictsort", "e",      "escape", "first",      "float",      "forceescape", "indent",
    "int",      "items",  "join",   "last",       "length",     "list",        "lower",
    "map",      "max",    "min",    "reject",     "rejectattr", "replace",     "reverse",
    "round",    "safe",   "select", "selectattr", "sort",       "string",      "sum",
    "title",    "tojson", "trim",   "unique",     "upper",      "wordcount",   "center"};

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// jinja2's do_title: each word (after runs of whitespace, '-', '(', '{', '[', '<') capitalized.
std::string jinja_title(const std::string& s) {
  std::string out, word;
  for (char c : s) {
    bool sep = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    if (!sep) {
      word += c;
      continue;
    }
    out += py_capitalize(word);
    word.clear();
    out += c;
  }
  return out + py_capitalize(word);
}

std::optional<int64_t> parse_int(std::string s, int base) {
  s = py_strip(s, std::nullopt, true, true);
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '_' && i > 0 && i + 1 < s.size()) continue;
    digits += s[i];
  }
  bool negative = false;
  if (!digits.empty() && (digits[0] == '+' || digits[0] == '-')) {
    negative = digits[0] == '-';
    digits.erase(0, 1);
  }
  // Python accepts a prefix matching the base (int("0x1A", 16)); base 0 takes it from the prefix.
  if (digits.size() > 2 && digits[0] == '0') {
    char p = static_cast<char>(digits[1] | 0x20);
    int prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefixed && (base == 0 || base == prefixed)) {
      base = prefixed;
      digits.erase(0, 2);
    }
  }
  if (base == 0) base = 10;
  if (negative) digits.insert(digits.begin(), '-');
  int64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
  if (digits.empty() || r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return v;
}

std::optional<double> parse_float(const Value& v) {
  if (v.is_number()) return v.as_double();
  if (!v.is_string()) return std::nullopt;
  std::string s = py_strip(v.str(), std::nullopt, true, true);
  std::string low = py_lower(s);
  if (low == "inf" || low == "+inf" || low == "infinity") return INFINITY;
  if (low == "-inf" || low == "-infinity") return -INFINITY;
  if (low == "nan" || low == "+nan" || low == "-nan") return NAN;
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

std::string do_indent(const std::string& s_in, const Value& width, bool first, bool blank) {
  std::string ind =
      width.is_string()
          ? width.str()
          : std::string(static_cast<size_t>(std::max<int64_t>(0, width.as_integer())), ' ');
  std::vector<std::string> lines = py_splitlines(s_in + "\n", false);
  std::string rv;
  if (blank) {
    for (size_t i = 0; i < lines.size(); ++i) rv += (i ? "\n" + ind : "") + lines[i];
  } else {
    rv = lines.empty() ? "" : lines[0];
    for (size_t i = 1; i < lines.size(); ++i) rv += "\n" + (lines[i].empty() ? "" : ind + lines[i]);
  }
  if (first) rv = ind + rv;
  return rv;
}

Value do_tojson(const Value& input, const FilterArgs& fa, int line) {
  JsonDumpOptions opt;
  if (const Value* ind = fa.get(1)) {
    if (ind->is_int() || ind->is_bool()) {
      opt.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, ind->as_integer())), ' ');
    } else if (ind->is_string()) {
      opt.indent = ind->str();
    } else if (!ind->is_none()) {
      fail_at(line, "tojson: indent must be an integer, a string or None");
    }
  }
  if (opt.indent) opt.item_separator = ",";
  if (const Value* sep = fa.get(2); sep && !sep->is_none()) {
    if (!sep->is_list() || sep->items().size() != 2 || !sep->items()[0].is_string() ||
        !sep->items()[1].is_string()) {
      fail_at(line, "tojson: separators must be a pair of strings");
    }
    opt.item_separator = sep->items()[0].str();
    opt.key_separator = sep->items()[1].str();
  }
  opt.sort_keys = fa.flag(3, false);
  opt.ensure_ascii = fa.flag(0, false);
  return Value::string(value_to_json(input, opt, line));
}

Value do_round(const Value& v, const FilterArgs& fa, int line) {
  if (!v.is_number()) fail_at(line, "round: " + v.type_name() + " is not a number");
  int64_t precision = int_arg(fa.get_or(0, Value::integer(0)), line);
  std::string method = fa.get_or(1, Value::string("common")).to_str();
  if (method != "common" && method != "ceil" && method != "floor") {
    fail_at(line, "round: method must be 'common', 'ceil' or 'floor'");
  }
  if (!v.is_float() && method == "common") return Value::integer(v.as_integer());
  double scale = std::pow(10.0, static_cast<double>(precision));
  double x = v.as_double() * scale;
  double r = method == "common" ? std::nearbyint(x)
             : method == "ceil" ? std::ceil(x)
                                : std::floor(x);
  return Value::floating(r / scale);
}

}  // namespace

bool is_known_filter(std::string_view name) {
  for (auto f : kFilters) {
    if (f == name) return true;
  }
  return false;
}

Value apply_filter(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args,
                   int line) {
  Value seq_out;
  if (apply_sequence_filter(ev, name, input, args, line, &seq_out)) return seq_out;
  auto text = [&](std::string s) {
    ev.charge(s.size(), line);
    return Value::string(std::move(s));
  };
  if (name == "tojson") {
    FilterArgs fa(name, args, line, {"ensure_ascii", "indent", "separators", "sort_keys"});
    return do_tojson(input, fa, line);
  }
  if (name == "default" || name == "d") {
    FilterArgs fa(name, args, line, {"default_value", "boolean"});
    bool boolean = fa.flag(1, false);
    if (input.is_undefined() || (boolean && !input.truthy())) {
      return fa.get_or(0, Value::string(""));
    }
    return input;
  }
  if (name == "length" || name == "count") {
    switch (input.kind()) {
      case Kind::kUndefined: return Value::integer(0);
      case Kind::kString: return Value::integer(static_cast<int64_t>(utf8_length(input.str())));
      case Kind::kList: return Value::integer(static_cast<int64_t>(input.items().size()));
      case Kind::kDict: return Value::integer(static_cast<int64_t>(input.dict_data().size()));
      default: fail_at(line, "object of type '" + input.type_name() + "' has no len()");
    }
  }
  if (name == "string") return input.is_string() ? input : text(input.to_str());
  if (name == "safe") return input;
  if (name == "upper") return text(py_upper(input.to_str()));
  if (name == "lower") return text(py_lower(input.to_str()));
  if (name == "capitalize") return text(py_capitalize(input.to_str()));
  if (name == "title") return text(jinja_title(input.to_str()));
  if (name == "e" || name == "escape" || name == "forceescape")
    return text(html_escape(input.to_str()));
  if (name == "trim") {
    FilterArgs fa(name, args, line, {"chars"});
    const Value* chars = fa.get(0);
    std::optional<std::string> c;
    if (chars && !chars->is_none()) c = chars->to_str();
    return text(py_strip(input.to_str(), c, true, true));
  }
  if (name == "center") {
    FilterArgs fa(name, args, line, {"width"});
    std::string s = input.to_str();
    int64_t width = int_arg(fa.get_or(0, Value::integer(80)), line);
    int64_t len = static_cast<int64_t>(utf8_length(s));
    if (width > 1 << 20) fail_limit(line, "center: width too large");
    if (width <= len) return text(s);
    int64_t total = width - len;
    int64_t left = total / 2 + (total & width & 1);
    return text(std::string(left, ' ') + s + std::string(total - left, ' '));
  }
  if (name == "replace") {
    FilterArgs fa(name, args, line, {"old", "new", "count"});
    const Value* o = fa.get(0);
    const Value* n = fa.get(1);
    if (!o || !n) fail_at(line, "replace needs 'old' and 'new'");
    const Value* c = fa.get(2);
    int64_t count = c && !c->is_none() ? int_arg(*c, line) : -1;
    std::string r = py_replace(input.to_str(), o->to_str(), n->to_str(), count);
    return text(std::move(r));
  }
  if (name == "indent") {
    FilterArgs fa(name, args, line, {"width", "first", "blank"});
    if (!input.is_string()) {
      fail_at(line, "unsupported operand type(s) for +=: '" + input.type_name() + "' and 'str'");
    }
    Value width = fa.get_or(0, Value::integer(4));
    if (!width.is_string() && !width.is_int() && !width.is_bool()) {
      fail_at(line, "indent: width must be an integer or a string");
    }
    if (width.is_int() && width.as_int() > 1 << 16) fail_limit(line, "indent: width too large");
    return text(do_indent(input.to_str(), width, fa.flag(1, false), fa.flag(2, false)));
  }
  if (name == "int") {
    FilterArgs fa(name, args, line, {"default", "base"});
    Value def = fa.get_or(0, Value::integer(0));
    if (input.is_undefined()) undefined_error(input, line);  // int(Undefined) fails in jinja2
    int64_t base64 = int_arg(fa.get_or(1, Value::integer(10)), line);
    int base = base64 >= 0 && base64 <= 36 ? static_cast<int>(base64) : 1;
    if (input.is_int()) return input;
    if (input.is_bool()) return Value::integer(input.as_integer());
    if (input.is_float()) {
      double d = input.as_float();
      if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value::integer(static_cast<int64_t>(d));
      return def;
    }
    if (input.is_string()) {
      if (base == 0 || (base >= 2 && base <= 36)) {
        if (auto v = parse_int(input.str(), base)) return Value::integer(*v);
      }
      if (auto d = parse_float(input); d && std::isfinite(*d) && std::fabs(*d) < 9.2e18) {
        return Value::integer(static_cast<int64_t>(*d));
      }
    }
    return def;
  }
  if (name == "float") {
    FilterArgs fa(name, args, line, {"default"});
    if (input.is_undefined()) undefined_error(input, line);
    if (auto d = parse_float(input)) return Value::floating(*d);
    return fa.get_or(0, Value::floating(0.0));
  }
  if (name == "round") {
    FilterArgs fa(name, args, line, {"precision", "method"});
    return do_round(input, fa, line);
  }
  if (name == "abs") {
    if (input.is_float()) return Value::floating(std::fabs(input.as_float()));
    if (input.is_int() || input.is_bool()) {
      int64_t v = input.as_integer();
      if (v < 0) return arithmetic(ev, "-", Value::integer(0), input, line);
      return Value::integer(v);
    }
    fail_at(line, "bad operand type for abs(): '" + input.type_name() + "'");
  }
  if (name == "attr") {
    FilterArgs fa(name, args, line, {"name"});
    const Value* n = fa.get(0);
    if (!n) fail_at(line, "attr needs a name");
    // Python getattr only: dict keys are not attributes (jinja2's do_attr).
    std::string attr = n->to_str();
    if (has_method(input, attr)) return bound_method(input, attr);
    if (input.is_namespace()) return ev.get_attr(input, attr, line);
    if (input.is_undefined()) undefined_error(input, line);
    return Value::undefined("'" + input.type_repr() + "' has no attribute '" + attr + "'");
  }
  if (name == "wordcount") {
    std::string s = input.to_str();
    int64_t n = 0;
    bool in_word = false;
    for (char c : s) {
      bool w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || (static_cast<unsigned char>(c) & 0x80);
      if (w && !in_word) ++n;
      in_word = w;
    }
    return Value::integer(n);
  }
  fail_at(line, "unsupported filter '" + name + "'");
}

}  // namespace pdserve::chat_template
