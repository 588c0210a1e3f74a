#include "tokenizer/chat_template/value.h"

#include <algorithm>
#include <cmath>

#include "tokenizer/chat_template/python_format.h"

namespace pdserve::chat_template {

const Value* DictData::find(std::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return &v;
  }
  return nullptr;
}

void DictData::set(const std::string& key, Value value) {
  depth_ = std::max(depth_, value_depth(value) + 1);
  for (auto& [k, v] : entries_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries_.emplace_back(key, std::move(value));
}

void DictData::add_new(std::string key, Value value) {
  depth_ = std::max(depth_, value_depth(value) + 1);
  entries_.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::keyword_value(std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::dict(DictData data) {
  return Value(std::shared_ptr<const DictData>(std::make_shared<DictData>(std::move(data))));
}

Value Value::name_space(DictData data) {
  return Value(std::make_shared<DictData>(std::move(data)));
}

Value Value::undefined(std::string hint) {
  return Value(Undefined{std::make_shared<const std::string>(std::move(hint))});
}

Value Value::list(std::vector<Value> items, bool is_tuple) {
  auto data = std::make_shared<ListData>();
  data->items = std::move(items);
  data->is_tuple = is_tuple;
  for (const Value& v : data->items) data->depth = std::max(data->depth, value_depth(v) + 1);
  return Value(std::shared_ptr<const ListData>(std::move(data)));
}

double Value::as_double() const {
  if (is_float()) return as_float();
  return static_cast<double>(as_integer());
}

const std::string& Value::undefined_hint() const {
  static const std::string kDefault = "value is undefined";
  const auto& u = std::get<Undefined>(v_);
  return u.hint ? *u.hint : kDefault;
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return as_bool();
    case Kind::kInt: return as_int() != 0;
    case Kind::kFloat: return as_float() != 0.0;
    case Kind::kString: return !str().empty();
    case Kind::kList: return !items().empty();
    case Kind::kDict: return dict_data().size() != 0;
    case Kind::kNamespace:
    case Kind::kCallable: return true;
  }
  return false;
}

std::string Value::to_str() const {
  switch (kind()) {
    case Kind::kUndefined: return "";
    case Kind::kString: return str();
    default: return repr();
  }
}

std::string Value::repr() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return as_bool() ? "True" : "False";
    case Kind::kInt: return std::to_string(as_int());
    case Kind::kFloat: return python_float_repr(as_float());
    case Kind::kString: return python_string_repr(str());
    case Kind::kList: {
      const ListData& l = list_data();
      std::string out = l.is_tuple ? "(" : "[";
      for (size_t i = 0; i < l.items.size(); ++i) {
        if (i) out += ", ";
        out += l.items[i].repr();
      }
      if (l.is_tuple && l.items.size() == 1) out += ",";
      out += l.is_tuple ? ")" : "]";
      return out;
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      const DictData& d = is_dict() ? dict_data() : namespace_data();
      std::string out = is_dict() ? "{" : "<Namespace {";
      bool first = true;
      for (const auto& [k, v] : d.entries()) {
        if (!first) out += ", ";
        first = false;
        out += python_string_repr(k) + ": " + v.repr();
      }
      out += is_dict() ? "}" : "}>";
      return out;
    }
    case Kind::kCallable: return "<" + callable_ref().name() + ">";
  }
  return "";
}

std::string Value::type_name() const {
  switch (kind()) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return list_data().is_tuple ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
  }
  return "object";
}

std::string Value::type_repr() const {
  if (is_none()) return "None";
  return type_name() + " object";
}

int value_depth(const Value& v) {
  switch (v.kind()) {
    case Kind::kList: return v.list_data().depth;
    case Kind::kDict: return v.dict_data().depth();
    case Kind::kNamespace: return v.namespace_data().depth();
    default: return 0;
  }
}

bool holds_namespace(const Value& v) {
  switch (v.kind()) {
    case Kind::kNamespace: return true;
    case Kind::kList:
      for (const Value& x : v.items()) {
        if (holds_namespace(x)) return true;
      }
      return false;
    case Kind::kDict:
      for (const auto& [k, x] : v.dict_data().entries()) {
        if (holds_namespace(x)) return true;
      }
      return false;
    default: return false;
  }
}

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    return a.as_integer() == b.as_integer();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kString: return a.str() == b.str();
    case Kind::kList: {
      const auto& x = a.items();
      const auto& y = b.items();
      if (a.list_data().is_tuple != b.list_data().is_tuple || x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::kDict: {
      const auto& x = a.dict_data();
      const auto& y = b.dict_data();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.find(k);
        if (!other || !values_equal(v, *other)) return false;
      }
      return true;
    }
    case Kind::kNamespace: return &a.namespace_data() == &b.namespace_data();
    case Kind::kCallable: return &a.callable_ref() == &b.callable_ref();
    default: return false;
  }
}

bool value_less(const Value& a, const Value& b, bool* ok) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_double() < b.as_double();
    return a.as_integer() < b.as_integer();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();
  if (a.is_list() && b.is_list() && a.list_data().is_tuple == b.list_data().is_tuple) {
    const auto& x = a.items();
    const auto& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (values_equal(x[i], y[i])) continue;
      return value_less(x[i], y[i], ok);
    }
    return x.size() < y.size();
  }
  *ok = false;
  return false;
}

}  // namespace pdserve::chat_template
