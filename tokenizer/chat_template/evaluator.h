// Evaluator: renders a parsed template against a context. Owns the scopes
// (a frame per for-iteration and per macro call, as jinja2), the output
// buffer and the render budget: output bytes, bytes allocated by strings and
// lists, loop iterations + macro calls, and recursion depth. Going past a
// limit throws TemplateError(kResourceExhausted); every other failure is a
// TemplateError(kInvalidArgument). One Evaluator renders once; not thread-safe.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

struct RenderLimits {
  size_t max_output_bytes = 16u << 20;
  size_t max_alloc_bytes = 256u << 20;  // total bytes created by string/list operations
  int64_t max_steps = 5'000'000;        // loop iterations + macro calls + statements
  int max_depth = 400;                  // nested evaluation (expressions, blocks, macro calls)
  int max_call_depth = 32;              // nested macro calls
};

struct Frame {
  DictData vars;
  std::shared_ptr<Frame> parent;
};

class Evaluator {
 public:
  Evaluator(const RenderLimits& limits, std::time_t now) : limits_(limits), now_(now) {}

  // context: a dict of the render variables (messages, add_generation_prompt, ...).
  std::string render(const Body& body, const Value& context);

  Value eval(const Expr& e);
  // obj.name and obj[key] with jinja2's sandboxed lookup rules (attribute or item,
  // Undefined when missing; an error when obj itself is Undefined).
  Value get_attr(const Value& obj, const std::string& name, int line);
  Value get_item(const Value& obj, const Value& key, int line);
  Value call(const Value& callee, const CallArgs& args, int line);
  std::vector<Value> iterate(const Value& v, int line);
  // Renders a macro body in a fresh frame whose parent is `closure`.
  Value call_macro(const Stmt& macro, const std::shared_ptr<Frame>& closure, const CallArgs& args,
                   int line);

  // Budget accounting for values that filters and methods create.
  void charge(size_t bytes, int line);
  void step(int line);
  std::time_t now() const { return now_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow exec_body(const Body& body);
  Flow exec(const Stmt& s);
  Flow exec_for(const Stmt& s);
  void exec_set(const Stmt& s);
  void emit(const std::string& text, int line);
  Value lookup(const std::string& name) const;
  void bind(Frame* frame, const std::vector<std::string>& targets, const Value& v, int line);
  Value eval_call(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  CallArgs eval_args(const Expr& e, size_t first_child);

  struct DepthGuard {
    DepthGuard(Evaluator* ev, int line);
    ~DepthGuard() { --ev_->depth_; }
    Evaluator* ev_;
  };

  RenderLimits limits_;
  std::time_t now_;
  Value context_;
  std::shared_ptr<Frame> frame_;
  std::string* out_ = nullptr;
  Value block_value_;  // what "__block__" names inside {% filter %} / {% set x | f %}
  size_t output_total_ = 0;
  size_t allocated_ = 0;
  int64_t steps_ = 0;
  int depth_ = 0;
  int call_depth_ = 0;
  Value pending_caller_;  // set by {% call %} for the macro it is about to call
};

}  // namespace pdserve::chat_template
