#include "tokenizer/chat_template/builtins.h"

#include <ctime>
#include <memory>
#include <string>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

constexpr int64_t kMaxRange = 100000;  // jinja2's sandbox MAX_RANGE

class Builtin : public Callable {
 public:
  explicit Builtin(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return "built-in function " + name_; }
  Value call(Evaluator& ev, const CallArgs& args, int line) override {
    if (name_ == "range") return range(ev, args, line);
    if (name_ == "namespace" || name_ == "dict") {
      DictData d;
      if (!args.positional.empty()) {
        if (args.positional.size() > 1 || !args.positional[0].is_dict()) {
          fail_at(line, name_ + "() takes at most one dict positional argument");
        }
        d = args.positional[0].dict_data();
      }
      for (const auto& [k, v] : args.keyword) d.set(k, v);
      if (d.depth() > kMaxValueDepth) fail_at(line, "value nested too deeply");
      if (name_ == "namespace") {
        for (const auto& [k, v] : d.entries()) {
          if (holds_namespace(v))
            fail_at(line, "unsupported: storing a namespace inside a namespace");
        }
      }
      return name_ == "dict" ? Value::dict(std::move(d)) : Value::name_space(std::move(d));
    }
    if (name_ == "raise_exception") {
      std::string msg = args.positional.empty() ? "" : args.positional[0].to_str();
      throw TemplateError(StatusCode::kInvalidArgument, msg);
    }
    if (name_ == "strftime_now") {
      if (args.positional.size() != 1 || !args.positional[0].is_string()) {
        fail_at(line, "strftime_now() takes one string argument");
      }
      std::time_t now = ev.now();
      std::tm tm{};
      localtime_r(&now, &tm);
      const std::string& fmt = args.positional[0].str();
      if (fmt.empty()) return Value::string("");
      std::string buf(fmt.size() * 8 + 64, '\0');
      size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
      if (n == 0) fail_at(line, "strftime_now(): format produced no output or is too long");
      buf.resize(n);
      return Value::string(std::move(buf));
    }
    fail_at(line, "unknown builtin " + name_);
  }

 private:
  Value range(Evaluator& ev, const CallArgs& args, int line) {
    std::vector<int64_t> a;
    for (const Value& v : args.positional) {
      if (!v.is_int() && !v.is_bool()) {
        fail_at(line, "'" + v.type_name() + "' object cannot be interpreted as an integer");
      }
      a.push_back(v.as_integer());
    }
    if (a.empty() || a.size() > 3) fail_at(line, "range expected 1 to 3 arguments");
    int64_t start = a.size() == 1 ? 0 : a[0];
    int64_t stop = a.size() == 1 ? a[0] : a[1];
    int64_t step = a.size() == 3 ? a[2] : 1;
    if (step == 0) fail_at(line, "range() arg 3 must not be zero");
    std::vector<Value> out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      if (static_cast<int64_t>(out.size()) >= kMaxRange) {
        fail_at(line, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      }
      out.push_back(Value::integer(i));
    }
    ev.charge(out.size() * sizeof(Value), line);
    return Value::list(std::move(out));
  }

  std::string name_;
};

bool is_builtin_name(std::string_view name) {
  return name == "range" || name == "namespace" || name == "dict" || name == "raise_exception" ||
         name == "strftime_now";
}

}  // namespace

bool is_builtin_function(std::string_view name) {
  return is_builtin_name(name);
}

Value builtin_function(std::string_view name) {
  if (!is_builtin_name(name)) return Value::undefined("'" + std::string(name) + "' is undefined");
  return Value::callable(std::make_shared<Builtin>(std::string(name)));
}

}  // namespace pdserve::chat_template
