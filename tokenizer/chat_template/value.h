// Value: what a chat-template expression evaluates to. Python's data model as
// jinja2 sees it in transformers' sandbox: Undefined, None, bool, int, float,
// str, list/tuple, dict (insertion-ordered, string keys), namespace (the one
// mutable object) and callables (macros, builtins, bound methods).
// Lists, dicts and strings are immutable and shared, so copies are cheap.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pdserve::chat_template {

class Value;
class Evaluator;

inline constexpr int kMaxValueDepth = 100;  // nesting of lists/dicts a render may build

struct ListData;
class DictData;
class Callable;

struct Undefined {
  std::shared_ptr<const std::string> hint;  // the message an operation on it fails with
};
struct None {};

enum class Kind {
  kUndefined,
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kList,
  kDict,
  kNamespace,
  kCallable
};

class Value {
 public:
  Value() : v_(Undefined{}) {}
  static Value undefined(std::string hint);
  static Value none() { return Value(None{}); }
  static Value boolean(bool b) { return Value(b); }
  static Value integer(int64_t i) { return Value(i); }
  static Value floating(double d) { return Value(d); }
  static Value string(std::string s) {
    return Value(std::make_shared<const std::string>(std::move(s)));
  }
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value dict(DictData data);
  static Value name_space(DictData data);
  static Value callable(std::shared_ptr<Callable> c) { return Value(std::move(c)); }

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // Numeric value of an int, float or bool.
  double as_double() const;
  // Integer value of an int or bool.
  int64_t as_integer() const { return is_bool() ? (as_bool() ? 1 : 0) : as_int(); }
  const std::string& str() const { return *std::get<std::shared_ptr<const std::string>>(v_); }
  const ListData& list_data() const { return *std::get<std::shared_ptr<const ListData>>(v_); }
  const std::vector<Value>& items() const;
  const DictData& dict_data() const { return *std::get<std::shared_ptr<const DictData>>(v_); }
  DictData& namespace_data() const { return *std::get<std::shared_ptr<DictData>>(v_); }
  Callable& callable_ref() const { return *std::get<std::shared_ptr<Callable>>(v_); }
  const std::string& undefined_hint() const;

  // Python truth value (Undefined is false).
  bool truthy() const;
  // Python str() as jinja2 prints it ({{ x }}): Undefined prints "".
  std::string to_str() const;
  // Python repr(), used for elements of printed lists and dicts.
  std::string repr() const;
  // jinja2's object_type_repr: "dict object", "None", ...
  std::string type_repr() const;
  // Python type name: "str", "int", "NoneType", ...
  std::string type_name() const;

 private:
  using Storage =
      std::variant<Undefined, None, bool, int64_t, double, std::shared_ptr<const std::string>,
                   std::shared_ptr<const ListData>, std::shared_ptr<const DictData>,
                   std::shared_ptr<DictData>, std::shared_ptr<Callable>>;
  template <typename T>
  explicit Value(T v) : v_(std::move(v)) {}
  Storage v_;
};

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
  int depth = 1;  // 1 + the deepest element's depth
};

// Insertion-ordered string-keyed map (dict and namespace).
class DictData {
 public:
  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
  // set() for a key known not to be there yet (a JSON object's, whose keys
  // the parse made unique): no scan of the entries.
  void add_new(std::string key, Value value);
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  int depth() const { return depth_; }

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  int depth_ = 1;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* keyword_value(std::string_view name) const;
};

// Something a template can call. Implementations live in the evaluator
// (macros), builtins.cpp (range, namespace, ...) and methods.cpp.
class Callable {
 public:
  virtual ~Callable() = default;
  virtual std::string name() const = 0;
  virtual Value call(Evaluator& ev, const CallArgs& args, int line) = 0;
};

inline const std::vector<Value>& Value::items() const {
  return list_data().items;
}

// Nesting depth: 0 for scalars, 1 + deepest element for lists, dicts and namespaces.
int value_depth(const Value& v);
// Whether v is, or holds somewhere inside it, a namespace.
bool holds_namespace(const Value& v);

// Python ==.
bool values_equal(const Value& a, const Value& b);
// Python <, for sorting and comparisons; returns false and sets *ok=false when the
// types cannot be ordered.
bool value_less(const Value& a, const Value& b, bool* ok);

}  // namespace pdserve::chat_template
