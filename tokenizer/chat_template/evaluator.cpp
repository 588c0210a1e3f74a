#include "tokenizer/chat_template/evaluator.h"

#include <utility>

#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/filters.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

// A {% macro %} bound to the frame it was defined in (jinja2 closures).
class MacroCallable : public Callable {
 public:
  // The closure is weak: the frame holds this macro, so a strong pointer would be a cycle.
  MacroCallable(const Stmt* macro, std::weak_ptr<Frame> closure)
      : macro_(macro), closure_(std::move(closure)) {}
  std::string name() const override { return "Macro '" + macro_->name + "'"; }
  Value call(Evaluator& ev, const CallArgs& args, int line) override {
    std::shared_ptr<Frame> closure = closure_.lock();
    if (!closure)
      fail_at(line, "macro '" + macro_->name + "' called outside the scope defining it");
    return ev.call_macro(*macro_, closure, args, line);
  }

 private:
  const Stmt* macro_;
  std::weak_ptr<Frame> closure_;
};

// loop.cycle("a", "b"): the argument at loop.index0 modulo their number.
class CycleCallable : public Callable {
 public:
  explicit CycleCallable(int64_t index0) : index0_(index0) {}
  std::string name() const override { return "bound method LoopContext.cycle"; }
  Value call(Evaluator&, const CallArgs& args, int line) override {
    if (args.positional.empty()) fail_at(line, "no items for cycling given");
    return args.positional[static_cast<size_t>(index0_) % args.positional.size()];
  }

 private:
  int64_t index0_;
};

}  // namespace

Evaluator::DepthGuard::DepthGuard(Evaluator* ev, int line) : ev_(ev) {
  if (++ev_->depth_ > ev_->limits_.max_depth) {
    --ev_->depth_;
    fail_limit(line, "template evaluation nested deeper than " +
                         std::to_string(ev_->limits_.max_depth) + " levels");
  }
}

std::string Evaluator::render(const Body& body, const Value& context) {
  context_ = context;
  frame_ = std::make_shared<Frame>();
  std::string out;
  out_ = &out;
  exec_body(body);
  out_ = nullptr;
  frame_.reset();
  return out;
}

void Evaluator::charge(size_t bytes, int line) {
  allocated_ += bytes;
  if (allocated_ > limits_.max_alloc_bytes) {
    fail_limit(line, "rendering allocated more than " + std::to_string(limits_.max_alloc_bytes) +
                         " bytes");
  }
}

void Evaluator::step(int line) {
  if (++steps_ > limits_.max_steps) {
    fail_limit(line, "rendering took more than " + std::to_string(limits_.max_steps) +
                         " steps (loop iterations, macro calls, statements)");
  }
}

void Evaluator::emit(const std::string& text, int line) {
  output_total_ += text.size();
  if (output_total_ > limits_.max_output_bytes) {
    fail_limit(line,
               "output is larger than " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  out_->append(text);
}

Value Evaluator::lookup(const std::string& name) const {
  for (const Frame* f = frame_.get(); f; f = f->parent.get()) {
    if (const Value* v = f->vars.find(name)) return *v;
  }
  if (name == "__block__") return block_value_;
  if (const Value* v = context_.dict_data().find(name)) return *v;
  Value b = builtin_function(name);
  if (!b.is_undefined()) return b;
  return Value::undefined("'" + name + "' is undefined");
}

Evaluator::Flow Evaluator::exec_body(const Body& body) {
  for (const auto& s : body) {
    Flow f = exec(*s);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Evaluator::Flow Evaluator::exec(const Stmt& s) {
  DepthGuard guard(this, s.line);
  step(s.line);
  switch (s.kind) {
    case StmtKind::kText: emit(s.text, s.line); return Flow::kNormal;
    case StmtKind::kOutput: {
      Value v = eval(*s.expr);
      emit(v.to_str(), s.line);
      return Flow::kNormal;
    }
    case StmtKind::kIf:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        if (eval(*s.conds[i]).truthy()) return exec_body(s.bodies[i]);
      }
      return exec_body(s.else_body);
    case StmtKind::kFor: return exec_for(s);
    case StmtKind::kSet: exec_set(s); return Flow::kNormal;
    case StmtKind::kSetBlock:
    case StmtKind::kFilterBlock: {
      std::string captured;
      std::string* saved = out_;
      out_ = &captured;
      Flow f = exec_body(s.bodies[0]);
      out_ = saved;
      (void)f;
      Value v = Value::string(std::move(captured));
      if (!s.conds.empty()) {
        Value saved_block = block_value_;
        block_value_ = v;
        v = eval(*s.conds[0]);
        block_value_ = saved_block;
      }
      if (s.kind == StmtKind::kFilterBlock) {
        emit(v.to_str(), s.line);
      } else {
        frame_->vars.set(s.targets[0], v);
      }
      return Flow::kNormal;
    }
    case StmtKind::kMacro:
      frame_->vars.set(s.name, Value::callable(std::make_shared<MacroCallable>(&s, frame_)));
      return Flow::kNormal;
    case StmtKind::kCallBlock: {
      Value fn = eval(*s.expr->children[0]);
      CallArgs args = eval_args(*s.expr, 1);
      pending_caller_ = Value::callable(std::make_shared<MacroCallable>(s.caller.get(), frame_));
      Value r;
      try {
        r = call(fn, args, s.line);
      } catch (...) {
        pending_caller_ = Value();
        throw;
      }
      pending_caller_ = Value();
      emit(r.to_str(), s.line);
      return Flow::kNormal;
    }
    case StmtKind::kBreak: return Flow::kBreak;
    case StmtKind::kContinue: return Flow::kContinue;
    case StmtKind::kGeneration: {
      // transformers renders the body as a caller() block: its own scope.
      std::shared_ptr<Frame> outer = frame_;
      frame_ = std::make_shared<Frame>();
      frame_->parent = outer;
      Flow f;
      try {
        f = exec_body(s.bodies[0]);
      } catch (...) {
        frame_ = outer;
        throw;
      }
      frame_ = outer;
      return f;
    }
  }
  return Flow::kNormal;
}

void Evaluator::bind(Frame* frame, const std::vector<std::string>& targets, const Value& v,
                     int line) {
  if (targets.size() == 1) {
    frame->vars.set(targets[0], v);
    return;
  }
  std::vector<Value> items = iterate(v, line);
  if (items.size() != targets.size()) {
    fail_at(line,
            items.size() > targets.size()
                ? "too many values to unpack (expected " + std::to_string(targets.size()) + ")"
                : "not enough values to unpack (expected " + std::to_string(targets.size()) +
                      ", got " + std::to_string(items.size()) + ")");
  }
  for (size_t i = 0; i < targets.size(); ++i) frame->vars.set(targets[i], items[i]);
}

Evaluator::Flow Evaluator::exec_for(const Stmt& s) {
  std::vector<Value> items = iterate(eval(*s.expr), s.line);
  std::shared_ptr<Frame> outer = frame_;
  if (s.filter) {
    std::vector<Value> kept;
    for (const Value& item : items) {
      step(s.line);
      frame_ = std::make_shared<Frame>();
      frame_->parent = outer;
      bind(frame_.get(), s.targets, item, s.line);
      bool keep = eval(*s.filter).truthy();
      frame_ = outer;
      if (keep) kept.push_back(item);
    }
    items = std::move(kept);
  }
  if (items.empty()) return exec_body(s.else_body);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step(s.line);
    DictData loop;
    loop.set("index", Value::integer(i + 1));
    loop.set("index0", Value::integer(i));
    loop.set("revindex", Value::integer(n - i));
    loop.set("revindex0", Value::integer(n - i - 1));
    loop.set("first", Value::boolean(i == 0));
    loop.set("last", Value::boolean(i == n - 1));
    loop.set("length", Value::integer(n));
    loop.set("depth", Value::integer(1));
    loop.set("depth0", Value::integer(0));
    loop.set("previtem", i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
    loop.set("nextitem", i + 1 < n ? items[i + 1] : Value::undefined("there is no next item"));
    loop.set("cycle", Value::callable(std::make_shared<CycleCallable>(i)));
    auto frame = std::make_shared<Frame>();
    frame->parent = outer;
    bind(frame.get(), s.targets, items[i], s.line);
    frame->vars.set("loop", Value::dict(std::move(loop)));
    frame_ = frame;
    Flow f;
    try {
      f = exec_body(s.bodies[0]);
    } catch (...) {
      frame_ = outer;
      throw;
    }
    frame_ = outer;
    if (f == Flow::kBreak) break;
  }
  return Flow::kNormal;
}

void Evaluator::exec_set(const Stmt& s) {
  Value v = eval(*s.expr);
  if (s.attr.empty()) {
    bind(frame_.get(), s.targets, v, s.line);
    return;
  }
  Value target = lookup(s.targets[0]);
  if (!target.is_namespace()) fail_at(s.line, "cannot assign attribute on non-namespace object");
  // Namespaces are the only mutable values; keeping them out of each other rules out cycles
  // and keeps value depth bounded.
  if (holds_namespace(v)) fail_at(s.line, "unsupported: storing a namespace inside a namespace");
  if (value_depth(v) >= kMaxValueDepth) fail_at(s.line, "value nested too deeply");
  target.namespace_data().set(s.attr, v);
}

Value Evaluator::call_macro(const Stmt& macro, const std::shared_ptr<Frame>& closure,
                            const CallArgs& args, int line) {
  step(line);
  if (call_depth_ >= limits_.max_call_depth) {
    fail_limit(line, "macro calls nested deeper than " + std::to_string(limits_.max_call_depth));
  }
  if (args.positional.size() > macro.targets.size()) {
    fail_at(line, "macro '" + macro.name + "' takes not more than " +
                      std::to_string(macro.targets.size()) + " argument(s)");
  }
  auto frame = std::make_shared<Frame>();
  frame->parent = closure;
  if (!pending_caller_.is_undefined()) {  // called from {% call %}: the body is `caller`
    frame->vars.set("caller", pending_caller_);
    pending_caller_ = Value();
  }
  std::shared_ptr<Frame> saved_frame = frame_;
  std::string* saved_out = out_;
  std::string body;
  frame_ = frame;
  out_ = &body;
  ++call_depth_;
  try {
    for (const auto& [k, v] : args.keyword) {
      bool found = false;
      for (const auto& t : macro.targets) found = found || t == k;
      if (!found) fail_at(line, "macro '" + macro.name + "' takes no keyword argument '" + k + "'");
    }
    for (size_t i = 0; i < macro.targets.size(); ++i) {
      const std::string& param = macro.targets[i];
      const Value* kw = args.keyword_value(param);
      if (i < args.positional.size()) {
        if (kw) fail_at(line, "macro '" + macro.name + "' got multiple values for '" + param + "'");
        frame->vars.set(param, args.positional[i]);
      } else if (kw) {
        frame->vars.set(param, *kw);
      } else if (macro.defaults[i]) {
        frame->vars.set(param, eval(*macro.defaults[i]));
      } else {
        frame->vars.set(param, Value::undefined("parameter '" + param + "' was not provided"));
      }
    }
    exec_body(macro.bodies[0]);
  } catch (...) {
    --call_depth_;
    frame_ = saved_frame;
    out_ = saved_out;
    throw;
  }
  --call_depth_;
  frame_ = saved_frame;
  out_ = saved_out;
  return Value::string(std::move(body));
}

}  // namespace pdserve::chat_template
