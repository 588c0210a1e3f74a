// FilterArgs: a filter's arguments by position or keyword, Python-style
// (`indent(2)` and `indent(width=2)` are the same call).
#pragma once

#include <string>
#include <vector>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

class FilterArgs {
 public:
  FilterArgs(const std::string& filter, const CallArgs& args, int line,
             std::vector<std::string> params);
  // The argument at params[i] (positional i or keyword), or nullptr when absent.
  const Value* get(size_t i) const;
  Value get_or(size_t i, Value def) const;
  bool flag(size_t i, bool def) const;
  const CallArgs& raw() const { return args_; }
  int line() const { return line_; }

 private:
  const std::string& filter_;
  const CallArgs& args_;
  int line_;
  std::vector<std::string> params_;
};

// An integer argument (int or bool), else "'str' object cannot be interpreted as an integer".
int64_t int_arg(const Value& v, int line);

// make_attrgetter: "a.b.0" looked up item-first on each part; Undefined results
// become `def` when def is not Undefined.
Value get_attribute_path(Evaluator& ev, const Value& item, const std::string& path,
                         const Value& def, int line);

// Sequence filters (sequence_filters.cpp); nullopt-like Undefined return means "not mine".
bool apply_sequence_filter(Evaluator& ev, const std::string& name, const Value& input,
                           const CallArgs& args, int line, Value* out);

}  // namespace pdserve::chat_template
