// Filters over sequences: join, map, select/reject(attr), sort, unique, ...
#include <algorithm>

#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/filter_args.h"
#include "tokenizer/chat_template/filters.h"
#include "tokenizer/chat_template/jinja_tests.h"
#include "tokenizer/chat_template/operators.h"
#include "tokenizer/chat_template/string_ops.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {

FilterArgs::FilterArgs(const std::string& filter, const CallArgs& args, int line,
                       std::vector<std::string> params)
    : filter_(filter), args_(args), line_(line), params_(std::move(params)) {
  if (args_.positional.size() > params_.size()) {
    fail_at(line_, "filter '" + filter_ + "' takes at most " + std::to_string(params_.size()) +
                       " argument(s)");
  }
  for (const auto& [k, v] : args_.keyword) {
    if (std::find(params_.begin(), params_.end(), k) == params_.end()) {
      fail_at(line_, "filter '" + filter_ + "' got an unexpected keyword argument '" + k + "'");
    }
  }
}

const Value* FilterArgs::get(size_t i) const {
  if (i < args_.positional.size()) return &args_.positional[i];
  return i < params_.size() ? args_.keyword_value(params_[i]) : nullptr;
}

Value FilterArgs::get_or(size_t i, Value def) const {
  const Value* v = get(i);
  return v ? *v : def;
}

bool FilterArgs::flag(size_t i, bool def) const {
  const Value* v = get(i);
  return v ? v->truthy() : def;
}

int64_t int_arg(const Value& v, int line) {
  if (!v.is_int() && !v.is_bool()) {
    fail_at(line, "'" + v.type_name() + "' object cannot be interpreted as an integer");
  }
  return v.as_integer();
}

Value get_attribute_path(Evaluator& ev, const Value& item, const std::string& path,
                         const Value& def, int line) {
  Value cur = item;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                               [](char c) { return c >= '0' && c <= '9'; });
    Value key = digits && part.size() < 18 ? Value::integer(std::stoll(part)) : Value::string(part);
    cur = ev.get_item(cur, key, line);
    if (!def.is_undefined() && cur.is_undefined()) cur = def;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

namespace {

Value fold_case(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::string(py_lower(v.str()));
  return v;
}

Value sort_key(Evaluator& ev, const Value& item, const Value* attribute, bool case_sensitive,
               int line) {
  Value k = item;
  if (attribute && !attribute->is_none()) {
    k = get_attribute_path(ev, item, attribute->to_str(), Value(), line);
  }
  return fold_case(k, case_sensitive);
}

std::vector<Value> sorted(Evaluator& ev, std::vector<Value> items, const Value* attribute,
                          bool case_sensitive, bool reverse, int line) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& it : items) keyed.emplace_back(sort_key(ev, it, attribute, case_sensitive, line), it);
  auto less = [&](const auto& a, const auto& b) { return less_than(a.first, b.first, "<", line); };
  if (reverse) {
    std::stable_sort(keyed.begin(), keyed.end(),
                     [&](const auto& a, const auto& b) { return less(b, a); });
  } else {
    std::stable_sort(keyed.begin(), keyed.end(), less);
  }
  std::vector<Value> out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  return out;
}

// select/reject/selectattr/rejectattr: args after the attribute are (test, test args...).
Value select(Evaluator& ev, const std::string& name, const Value& input, const CallArgs& args,
             int line) {
  bool by_attr = name == "selectattr" || name == "rejectattr";
  bool want = name == "select" || name == "selectattr";
  size_t i = 0;
  std::string attr;
  if (by_attr) {
    if (args.positional.empty()) fail_at(line, "filter '" + name + "' needs an attribute name");
    attr = args.positional[0].to_str();
    i = 1;
  }
  std::string test;
  CallArgs test_args;
  if (i < args.positional.size()) {
    test = args.positional[i].to_str();
    if (!is_known_test(test)) fail_at(line, "unsupported test '" + test + "'");
    test_args.positional.assign(args.positional.begin() + static_cast<long>(i) + 1,
                                args.positional.end());
    test_args.keyword = args.keyword;
  }
  std::vector<Value> out;
  for (const Value& item : ev.iterate(input, line)) {
    Value v = by_attr ? get_attribute_path(ev, item, attr, Value(), line) : item;
    bool r = test.empty() ? v.truthy() : apply_test(ev, test, v, test_args, line);
    if (r == want) out.push_back(item);
  }
  ev.charge(out.size() * sizeof(Value), line);
  return Value::list(std::move(out));
}

Value map(Evaluator& ev, const Value& input, const CallArgs& args, int line) {
  std::vector<Value> out;
  std::vector<Value> items = ev.iterate(input, line);
  if (const Value* attr = args.keyword_value("attribute")) {
    const Value* def = args.keyword_value("default");
    for (const Value& item : items) {
      out.push_back(get_attribute_path(ev, item, attr->to_str(), def ? *def : Value(), line));
    }
  } else {
    if (args.positional.empty()) fail_at(line, "map needs a filter name or attribute=");
    std::string filter = args.positional[0].to_str();
    if (!is_known_filter(filter)) fail_at(line, "unsupported filter '" + filter + "'");
    CallArgs rest;
    rest.positional.assign(args.positional.begin() + 1, args.positional.end());
    rest.keyword = args.keyword;
    for (const Value& item : items) out.push_back(apply_filter(ev, filter, item, rest, line));
  }
  ev.charge(out.size() * sizeof(Value), line);
  return Value::list(std::move(out));
}

}  // namespace

bool apply_sequence_filter(Evaluator& ev, const std::string& name, const Value& input,
                           const CallArgs& args, int line, Value* out) {
  auto list = [&](std::vector<Value> v) {
    ev.charge(v.size() * sizeof(Value), line);
    *out = Value::list(std::move(v));
    return true;
  };
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    *out = select(ev, name, input, args, line);
    return true;
  }
  if (name == "map") {
    *out = map(ev, input, args, line);
    return true;
  }
  if (name == "list") return list(ev.iterate(input, line));
  if (name == "join") {
    FilterArgs fa(name, args, line, {"d", "attribute"});
    std::string sep = fa.get_or(0, Value::string("")).to_str();
    const Value* attr = fa.get(1);
    std::string s;
    bool first = true;
    for (const Value& item : ev.iterate(input, line)) {
      if (!first) s += sep;
      first = false;
      s += (attr && !attr->is_none() ? get_attribute_path(ev, item, attr->to_str(), Value(), line)
                                     : item)
               .to_str();
      ev.charge(0, line);
    }
    ev.charge(s.size(), line);
    *out = Value::string(std::move(s));
    return true;
  }
  if (name == "first" || name == "last") {
    std::vector<Value> items = ev.iterate(input, line);
    if (items.empty()) {
      *out = Value::undefined(std::string("No ") + name + " item, sequence was empty.");
    } else {
      *out = name == "first" ? items.front() : items.back();
    }
    return true;
  }
  if (name == "reverse") {
    if (input.is_string()) {
      std::vector<Value> chars = ev.iterate(input, line);
      std::string s;
      for (auto it = chars.rbegin(); it != chars.rend(); ++it) s += it->str();
      *out = Value::string(std::move(s));
      return true;
    }
    std::vector<Value> items = ev.iterate(input, line);
    std::reverse(items.begin(), items.end());
    return list(std::move(items));
  }
  if (name == "items") {
    if (input.is_undefined()) return list({});
    if (!input.is_dict()) fail_at(line, "Can only get item pairs from a mapping.");
    std::vector<Value> items;
    for (const auto& [k, v] : input.dict_data().entries()) {
      items.push_back(Value::list({Value::string(k), v}, true));
    }
    return list(std::move(items));
  }
  if (name == "sort") {
    FilterArgs fa(name, args, line, {"reverse", "case_sensitive", "attribute"});
    return list(
        sorted(ev, ev.iterate(input, line), fa.get(2), fa.flag(1, false), fa.flag(0, false), line));
  }
  if (name == "dictsort") {
    FilterArgs fa(name, args, line, {"case_sensitive", "by", "reverse"});
    if (!input.is_dict()) fail_at(line, "dictsort: value is not a mapping");
    std::string by = fa.get_or(1, Value::string("key")).to_str();
    if (by != "key" && by != "value")
      fail_at(line, "You can only sort by either \"key\" or \"value\"");
    std::vector<Value> items;
    for (const auto& [k, v] : input.dict_data().entries())
      items.push_back(Value::list({Value::string(k), v}, true));
    Value attr = Value::integer(by == "key" ? 0 : 1);
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& it : items)
      keyed.emplace_back(fold_case(it.items()[by == "key" ? 0 : 1], fa.flag(0, false)), it);
    bool rev = fa.flag(2, false);
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
      return rev ? less_than(b.first, a.first, "<", line) : less_than(a.first, b.first, "<", line);
    });
    std::vector<Value> res;
    for (auto& [k, v] : keyed) res.push_back(v);
    (void)attr;
    return list(std::move(res));
  }
  if (name == "unique") {
    FilterArgs fa(name, args, line, {"case_sensitive", "attribute"});
    std::vector<Value> seen, res;
    for (const Value& item : ev.iterate(input, line)) {
      Value k = sort_key(ev, item, fa.get(1), fa.flag(0, false), line);
      if ((k.is_list() && !k.list_data().is_tuple) || k.is_dict()) {
        fail_at(line, "unhashable type: '" + k.type_name() + "'");
      }
      bool dup = false;
      for (const Value& s : seen) dup = dup || values_equal(s, k);
      if (dup) continue;
      seen.push_back(k);
      res.push_back(item);
    }
    return list(std::move(res));
  }
  if (name == "min" || name == "max") {
    FilterArgs fa(name, args, line, {"case_sensitive", "attribute"});
    std::vector<Value> items = ev.iterate(input, line);
    if (items.empty()) {
      *out = Value::undefined("No aggregated item, sequence was empty.");
      return true;
    }
    size_t best = 0;
    Value best_key = sort_key(ev, items[0], fa.get(1), fa.flag(0, false), line);
    for (size_t i = 1; i < items.size(); ++i) {
      Value k = sort_key(ev, items[i], fa.get(1), fa.flag(0, false), line);
      if (name == "min" ? less_than(k, best_key, "<", line) : less_than(best_key, k, "<", line)) {
        best = i;
        best_key = k;
      }
    }
    *out = items[best];
    return true;
  }
  if (name == "sum") {
    FilterArgs fa(name, args, line, {"attribute", "start"});
    Value total = fa.get_or(1, Value::integer(0));
    const Value* attr = fa.get(0);
    for (const Value& item : ev.iterate(input, line)) {
      Value v = attr && !attr->is_none()
                    ? get_attribute_path(ev, item, attr->to_str(), Value(), line)
                    : item;
      total = arithmetic(ev, "+", total, v, line);
    }
    *out = total;
    return true;
  }
  if (name == "batch") {
    FilterArgs fa(name, args, line, {"linecount", "fill_with"});
    const Value* n = fa.get(0);
    if (!n || !(n->is_int() || n->is_bool()) || n->as_integer() <= 0) {
      fail_at(line, "batch: linecount must be a positive integer");
    }
    size_t count = static_cast<size_t>(n->as_integer());
    const Value* fill = fa.get(1);
    std::vector<Value> res, cur;
    for (const Value& item : ev.iterate(input, line)) {
      cur.push_back(item);
      if (cur.size() == count) {
        res.push_back(Value::list(std::move(cur)));
        cur.clear();
      }
    }
    if (!cur.empty()) {
      if (fill && !fill->is_none()) {
        ev.charge((count - cur.size()) * sizeof(Value), line);
        while (cur.size() < count) cur.push_back(*fill);
      }
      res.push_back(Value::list(std::move(cur)));
    }
    return list(std::move(res));
  }
  return false;
}

}  // namespace pdserve::chat_template
