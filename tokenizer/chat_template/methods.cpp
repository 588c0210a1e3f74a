#include "tokenizer/chat_template/methods.h"

#include <array>
#include <memory>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/string_ops.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

constexpr std::array<std::string_view, 20> kStrMethods = {
    "strip", "lstrip",     "rstrip",  "split",   "rsplit",     "startswith",  "endswith",
    "upper", "lower",      "replace", "title",   "capitalize", "find",        "rfind",
    "count", "splitlines", "isdigit", "isspace", "join",       "removeprefix"};
constexpr std::array<std::string_view, 4> kDictMethods = {"items", "keys", "values", "get"};

template <size_t N>
bool in(const std::array<std::string_view, N>& names, std::string_view name) {
  for (auto n : names) {
    if (n == name) return true;
  }
  return false;
}

class BoundMethod : public Callable {
 public:
  BoundMethod(Value obj, std::string name) : obj_(std::move(obj)), name_(std::move(name)) {}
  std::string name() const override { return "built-in method " + name_; }
  Value call(Evaluator& ev, const CallArgs& args, int line) override {
    return call_method(ev, obj_, name_, args, line);
  }

 private:
  Value obj_;
  std::string name_;
};

std::optional<std::string> opt_str(const CallArgs& a, size_t i, const std::string& method,
                                   int line) {
  if (a.positional.size() <= i || a.positional[i].is_none()) return std::nullopt;
  if (!a.positional[i].is_string()) {
    fail_at(line, method + "() argument must be str or None, not " + a.positional[i].type_name());
  }
  return a.positional[i].str();
}

int64_t opt_int(const CallArgs& a, size_t i, int64_t def, int line) {
  if (a.positional.size() <= i) return def;
  if (!a.positional[i].is_int() && !a.positional[i].is_bool()) {
    fail_at(line,
            "'" + a.positional[i].type_name() + "' object cannot be interpreted as an integer");
  }
  return a.positional[i].as_integer();
}

Value str_list(Evaluator& ev, std::vector<std::string> parts, int line) {
  std::vector<Value> out;
  size_t bytes = 0;
  for (auto& p : parts) {
    bytes += p.size() + sizeof(Value);
    out.push_back(Value::string(std::move(p)));
  }
  ev.charge(bytes, line);
  return Value::list(std::move(out));
}

bool affix_match(const Value& obj, const Value& arg, bool prefix, int line) {
  auto one = [&](const std::string& a) {
    const std::string& s = obj.str();
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0
                  : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (arg.is_string()) return one(arg.str());
  if (arg.is_list() && arg.list_data().is_tuple) {
    for (const Value& v : arg.items()) {
      if (!v.is_string()) fail_at(line, "tuple for startswith/endswith must only contain str");
      if (one(v.str())) return true;
    }
    return false;
  }
  fail_at(line, std::string(prefix ? "startswith" : "endswith") +
                    " first arg must be str or a tuple of str, not " + arg.type_name());
}

Value call_str_method(Evaluator& ev, const Value& obj, const std::string& name, const CallArgs& a,
                      int line) {
  const std::string& s = obj.str();
  auto need = [&](size_t n) {
    if (a.positional.size() < n)
      fail_at(line, name + "() takes at least " + std::to_string(n) + " argument(s)");
  };
  Value out;
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    out = Value::string(py_strip(s, opt_str(a, 0, name, line), name != "rstrip", name != "lstrip"));
  } else if (name == "split" || name == "rsplit") {
    std::optional<std::string> sep = opt_str(a, 0, name, line);
    if (const Value* kw = a.keyword_value("sep"))
      sep = kw->is_none() ? std::nullopt : std::optional(kw->to_str());
    if (sep && sep->empty()) fail_at(line, "empty separator");
    int64_t maxsplit = opt_int(a, 1, -1, line);
    if (const Value* kw = a.keyword_value("maxsplit")) {
      if (!kw->is_int() && !kw->is_bool()) fail_at(line, "maxsplit must be an integer");
      maxsplit = kw->as_integer();
    }
    return str_list(ev, name == "split" ? py_split(s, sep, maxsplit) : py_rsplit(s, sep, maxsplit),
                    line);
  } else if (name == "startswith" || name == "endswith") {
    need(1);
    return Value::boolean(affix_match(obj, a.positional[0], name == "startswith", line));
  } else if (name == "upper") {
    out = Value::string(py_upper(s));
  } else if (name == "lower") {
    out = Value::string(py_lower(s));
  } else if (name == "title") {
    out = Value::string(py_title(s));
  } else if (name == "capitalize") {
    out = Value::string(py_capitalize(s));
  } else if (name == "replace") {
    need(2);
    if (!a.positional[0].is_string() || !a.positional[1].is_string()) {
      fail_at(line, "replace() arguments must be str");
    }
    out = Value::string(
        py_replace(s, a.positional[0].str(), a.positional[1].str(), opt_int(a, 2, -1, line)));
  } else if (name == "find" || name == "rfind" || name == "count") {
    need(1);
    if (!a.positional[0].is_string()) fail_at(line, name + "() argument must be str");
    const std::string& sub = a.positional[0].str();
    if (name == "count") {
      if (sub.empty()) return Value::integer(static_cast<int64_t>(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      return Value::integer(n);
    }
    size_t p = name == "find" ? s.find(sub) : s.rfind(sub);
    if (p == std::string::npos) return Value::integer(-1);
    return Value::integer(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, p))));
  } else if (name == "splitlines") {
    bool keepends = !a.positional.empty() && a.positional[0].truthy();
    return str_list(ev, py_splitlines(s, keepends), line);
  } else if (name == "isdigit" || name == "isspace") {
    bool all = !s.empty();
    for (char c : s) all = all && (name == "isdigit" ? (c >= '0' && c <= '9') : is_py_space(c));
    return Value::boolean(all);
  } else if (name == "join") {
    need(1);
    std::string joined;
    bool first = true;
    for (const Value& v : ev.iterate(a.positional[0], line)) {
      if (!v.is_string())
        fail_at(line, "sequence item: expected str instance, " + v.type_name() + " found");
      if (!first) joined += s;
      first = false;
      joined += v.str();
    }
    out = Value::string(std::move(joined));
  } else if (name == "removeprefix") {
    need(1);
    const std::string p = a.positional[0].to_str();
    out = Value::string(s.compare(0, p.size(), p) == 0 ? s.substr(p.size()) : s);
  } else {
    fail_at(line, "'str' object has no attribute '" + name + "'");
  }
  ev.charge(out.str().size(), line);
  return out;
}

Value call_dict_method(Evaluator& ev, const Value& obj, const std::string& name, const CallArgs& a,
                       int line) {
  const DictData& d = obj.dict_data();
  if (name == "get") {
    if (a.positional.empty()) fail_at(line, "get expected at least 1 argument, got 0");
    const Value& key = a.positional[0];
    if (key.is_string()) {
      if (const Value* v = d.find(key.str())) return *v;
    }
    return a.positional.size() > 1 ? a.positional[1] : Value::none();
  }
  std::vector<Value> out;
  for (const auto& [k, v] : d.entries()) {
    if (name == "keys") {
      out.push_back(Value::string(k));
    } else if (name == "values") {
      out.push_back(v);
    } else {
      out.push_back(Value::list({Value::string(k), v}, true));
    }
  }
  ev.charge(out.size() * sizeof(Value) * 3, line);
  return Value::list(std::move(out));
}

}  // namespace

bool is_known_method(std::string_view name) {
  return in(kStrMethods, name) || in(kDictMethods, name) || name == "cycle";
}

bool has_method(const Value& obj, std::string_view name) {
  if (obj.is_string()) return in(kStrMethods, name);
  if (obj.is_dict()) return in(kDictMethods, name);
  return false;
}

Value bound_method(const Value& obj, const std::string& name) {
  return Value::callable(std::make_shared<BoundMethod>(obj, name));
}

Value call_method(Evaluator& ev, const Value& obj, const std::string& name, const CallArgs& args,
                  int line) {
  if (obj.is_string()) return call_str_method(ev, obj, name, args, line);
  if (obj.is_dict()) return call_dict_method(ev, obj, name, args, line);
  fail_at(line, "'" + obj.type_name() + "' object has no attribute '" + name + "'");
}

}  // namespace pdserve::chat_template
