// Evaluator: expressions, attribute/item lookup and calls.
#include <utility>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/filters.h"
#include "tokenizer/chat_template/jinja_tests.h"
#include "tokenizer/chat_template/methods.h"
#include "tokenizer/chat_template/operators.h"
#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {

Value Evaluator::eval(const Expr& e) {
  DepthGuard guard(this, e.line);
  switch (e.kind) {
    case ExprKind::kLiteral: return e.literal;
    case ExprKind::kName: return lookup(e.name);
    case ExprKind::kGetAttr: return get_attr(eval(*e.children[0]), e.name, e.line);
    case ExprKind::kGetItem: {
      Value obj = eval(*e.children[0]);
      return get_item(obj, eval(*e.children[1]), e.line);
    }
    case ExprKind::kSlice: {
      Value obj = eval(*e.children[0]);
      Value parts[3];
      for (int i = 0; i < 3; ++i) {
        if (e.children[i + 1]) parts[i] = eval(*e.children[i + 1]);
      }
      return slice(*this, obj, parts[0], parts[1], parts[2], e.line);
    }
    case ExprKind::kCall: return eval_call(e);
    case ExprKind::kFilter: {
      Value input = eval(*e.children[0]);
      CallArgs args = eval_args(e, 1);
      return apply_filter(*this, e.name, input, args, e.line);
    }
    case ExprKind::kTest: {
      Value input = eval(*e.children[0]);
      CallArgs args = eval_args(e, 1);
      return Value::boolean(apply_test(*this, e.name, input, args, e.line) != e.negated);
    }
    case ExprKind::kNot: return Value::boolean(!eval(*e.children[0]).truthy());
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      Value v = eval(*e.children[0]);
      if (v.is_undefined()) undefined_error(v, e.line);
      if (!v.is_number()) {
        fail_at(e.line, std::string("bad operand type for unary ") +
                            (e.kind == ExprKind::kNeg ? "-" : "+") + ": '" + v.type_name() + "'");
      }
      if (e.kind == ExprKind::kPos) return v.is_bool() ? Value::integer(v.as_integer()) : v;
      if (v.is_float()) return Value::floating(-v.as_float());
      return arithmetic(*this, "-", Value::integer(0), v, e.line);
    }
    case ExprKind::kBinary: return eval_binary(e);
    case ExprKind::kCompare: return eval_compare(e);
    case ExprKind::kCondExpr:
      if (eval(*e.children[0]).truthy()) return eval(*e.children[1]);
      if (e.children[2]) return eval(*e.children[2]);
      return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      items.reserve(e.children.size());
      for (const auto& c : e.children) items.push_back(eval(*c));
      charge(items.size() * sizeof(Value), e.line);
      Value list = Value::list(std::move(items), e.kind == ExprKind::kTuple);
      if (value_depth(list) > kMaxValueDepth) fail_at(e.line, "value nested too deeply");
      return list;
    }
    case ExprKind::kDict: {
      DictData d;
      for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
        Value k = eval(*e.children[i]);
        if (!k.is_string()) fail_at(e.line, "unsupported: dict keys other than strings");
        d.set(k.str(), eval(*e.children[i + 1]));
      }
      charge(d.size() * (sizeof(Value) + 32), e.line);
      if (d.depth() > kMaxValueDepth) fail_at(e.line, "value nested too deeply");
      return Value::dict(std::move(d));
    }
  }
  fail_at(e.line, "unknown expression");
}

CallArgs Evaluator::eval_args(const Expr& e, size_t first_child) {
  CallArgs args;
  for (size_t i = first_child; i < e.children.size(); ++i) {
    args.positional.push_back(eval(*e.children[i]));
  }
  for (size_t i = 0; i < e.kwarg_names.size(); ++i) {
    args.keyword.emplace_back(e.kwarg_names[i], eval(*e.kwarg_values[i]));
  }
  return args;
}

Value Evaluator::eval_call(const Expr& e) {
  const Expr& callee = *e.children[0];
  if (callee.kind == ExprKind::kGetAttr) {
    Value obj = eval(*callee.children[0]);
    if (has_method(obj, callee.name)) {
      CallArgs args = eval_args(e, 1);
      return call_method(*this, obj, callee.name, args, e.line);
    }
    Value fn = get_attr(obj, callee.name, e.line);
    CallArgs args = eval_args(e, 1);
    return call(fn, args, e.line);
  }
  Value fn = eval(callee);
  CallArgs args = eval_args(e, 1);
  return call(fn, args, e.line);
}

Value Evaluator::call(const Value& callee, const CallArgs& args, int line) {
  if (callee.is_undefined()) undefined_error(callee, line);
  if (!callee.is_callable()) fail_at(line, "'" + callee.type_name() + "' object is not callable");
  DepthGuard guard(this, line);
  return callee.callable_ref().call(*this, args, line);
}

Value Evaluator::eval_binary(const Expr& e) {
  const std::string& op = e.name;
  if (op == "and" || op == "or") {
    Value a = eval(*e.children[0]);
    if (a.truthy() == (op == "or")) return a;
    return eval(*e.children[1]);
  }
  Value a = eval(*e.children[0]);
  Value b = eval(*e.children[1]);
  if (op == "~") {
    std::string s = a.to_str() + b.to_str();
    charge(s.size(), e.line);
    return Value::string(std::move(s));
  }
  return arithmetic(*this, op, a, b, e.line);
}

Value Evaluator::eval_compare(const Expr& e) {
  Value left = eval(*e.children[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.children[i + 1]);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") {
      r = values_equal(left, right);
    } else if (op == "!=") {
      r = !values_equal(left, right);
    } else if (op == "<") {
      r = less_than(left, right, "<", e.line);
    } else if (op == ">") {
      r = less_than(right, left, ">", e.line);
    } else if (op == "<=") {
      r = !less_than(right, left, "<=", e.line);
    } else if (op == ">=") {
      r = !less_than(left, right, ">=", e.line);
    } else if (op == "in") {
      r = contains(right, left, e.line);
    } else {
      r = !contains(right, left, e.line);
    }
    if (!r) return Value::boolean(false);
    left = std::move(right);
  }
  return Value::boolean(true);
}

Value Evaluator::get_attr(const Value& obj, const std::string& name, int line) {
  switch (obj.kind()) {
    case Kind::kUndefined: undefined_error(obj, line);
    case Kind::kDict:
      if (has_method(obj, name)) return bound_method(obj, name);
      if (const Value* v = obj.dict_data().find(name)) return *v;
      break;
    case Kind::kNamespace:
      if (const Value* v = obj.namespace_data().find(name)) return *v;
      break;
    default:
      if (has_method(obj, name)) return bound_method(obj, name);
      break;
  }
  return Value::undefined("'" + obj.type_repr() + "' has no attribute '" + name + "'");
}

Value Evaluator::get_item(const Value& obj, const Value& key, int line) {
  switch (obj.kind()) {
    case Kind::kUndefined: undefined_error(obj, line);
    case Kind::kDict:
    case Kind::kNamespace:
      if (key.is_string()) {
        const DictData& d = obj.is_dict() ? obj.dict_data() : obj.namespace_data();
        if (const Value* v = d.find(key.str())) return *v;
      }
      break;
    case Kind::kList:
      if (key.is_int() || key.is_bool()) {
        int64_t n = static_cast<int64_t>(obj.items().size());
        int64_t i = key.as_integer();
        if (i < 0) i += n;
        if (i >= 0 && i < n) return obj.items()[static_cast<size_t>(i)];
      }
      break;
    case Kind::kString:
      if (key.is_int() || key.is_bool()) {
        std::vector<size_t> offsets = utf8_offsets(obj.str());
        int64_t n = static_cast<int64_t>(offsets.size()) - 1;
        int64_t i = key.as_integer();
        if (i < 0) i += n;
        if (i >= 0 && i < n) {
          return Value::string(obj.str().substr(offsets[i], offsets[i + 1] - offsets[i]));
        }
      }
      break;
    default: break;
  }
  if (key.is_string()) {
    if (has_method(obj, key.str())) return bound_method(obj, key.str());
    return Value::undefined("'" + obj.type_repr() + "' has no attribute '" + key.str() + "'");
  }
  return Value::undefined(obj.type_repr() + " has no element " + key.repr());
}

std::vector<Value> Evaluator::iterate(const Value& v, int line) {
  switch (v.kind()) {
    case Kind::kUndefined: return {};
    case Kind::kList: return v.items();
    case Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, x] : v.dict_data().entries()) keys.push_back(Value::string(k));
      return keys;
    }
    case Kind::kString: {
      std::vector<size_t> offsets = utf8_offsets(v.str());
      std::vector<Value> chars;
      for (size_t i = 0; i + 1 < offsets.size(); ++i) {
        chars.push_back(Value::string(v.str().substr(offsets[i], offsets[i + 1] - offsets[i])));
      }
      charge(chars.size() * (sizeof(Value) + 32), line);
      return chars;
    }
    default: fail_at(line, "'" + v.type_name() + "' object is not iterable");
  }
}

}  // namespace pdserve::chat_template
