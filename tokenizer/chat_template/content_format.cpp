#include "tokenizer/chat_template/content_format.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace pdserve::chat_template {
namespace {

using Names = std::set<std::string, std::less<>>;

// Every statement of the tree: bodies, else bodies, macros and call blocks.
void for_each_stmt(const Body& body, const std::function<void(const Stmt&)>& fn) {
  for (const StmtPtr& s : body) {
    fn(*s);
    for (const Body& b : s->bodies) for_each_stmt(b, fn);
    for_each_stmt(s->else_body, fn);
    if (s->caller) {
      fn(*s->caller);
      for (const Body& b : s->caller->bodies) for_each_stmt(b, fn);
    }
  }
}

void for_each_subexpr(const Expr& e, const std::function<void(const Expr&)>& fn) {
  fn(e);
  for (const ExprPtr& c : e.children)
    if (c) for_each_subexpr(*c, fn);
  for (const ExprPtr& c : e.kwarg_values)
    if (c) for_each_subexpr(*c, fn);
}

// Every expression of a statement, sub-expressions included.
void for_each_expr(const Stmt& s, const std::function<void(const Expr&)>& fn) {
  if (s.expr) for_each_subexpr(*s.expr, fn);
  if (s.filter) for_each_subexpr(*s.filter, fn);
  for (const ExprPtr& c : s.conds)
    if (c) for_each_subexpr(*c, fn);
  for (const ExprPtr& d : s.defaults)
    if (d) for_each_subexpr(*d, fn);
}

// The value under filters, tests and slices (vLLM's "var or elems" access).
const Expr& peel(const Expr& e) {
  const Expr* p = &e;
  while (
      (p->kind == ExprKind::kFilter || p->kind == ExprKind::kTest || p->kind == ExprKind::kSlice) &&
      !p->children.empty() && p->children[0])
    p = p->children[0].get();
  return *p;
}

bool is_name_in(const Expr& e, const Names& names) {
  return e.kind == ExprKind::kName && names.contains(e.name);
}

bool is_int_literal(const Expr* e) {
  return e && e->kind == ExprKind::kLiteral && e->literal.is_int();
}

bool is_str_literal(const Expr* e, std::string_view s) {
  return e && e->kind == ExprKind::kLiteral && e->literal.is_string() && e->literal.str() == s;
}

class Detector {
 public:
  explicit Detector(const Body& body) {
    std::vector<const Stmt*> sets;
    for_each_stmt(body, [&](const Stmt& s) {
      if (s.kind == StmtKind::kSet && s.attr.empty() && s.targets.size() == 1 && s.expr)
        sets.push_back(&s);
      if (s.kind == StmtKind::kFor && s.expr) fors_.push_back(&s);
      for_each_expr(s, [this](const Expr& e) { exprs_.push_back(&e); });
    });
    for (const Stmt* s : sets)
      if (const Expr& rhs = peel(*s->expr); rhs.kind == ExprKind::kName)
        alias_of_.emplace(rhs.name, s->targets[0]);
    messages_ = {"messages"};
    close_over_aliases(messages_);
    for (const Stmt* f : fors_)
      if (f->targets.size() == 1 && is_name_in(peel(*f->expr), messages_))
        message_vars_.insert(f->targets[0]);
    for (const Stmt* s : sets)
      if (is_content_of_message(peel(*s->expr))) contents_.insert(s->targets[0]);
    close_over_aliases(contents_);
  }

  ContentFormat detect() const {
    for (const Stmt* f : fors_)
      if (is_content(*f->expr)) return ContentFormat::kOpenAi;
    for (const Expr* e : exprs_)
      if (e->kind == ExprKind::kGetItem && e->children.size() == 2 &&
          is_int_literal(e->children[1].get()) && e->children[0] && is_content(*e->children[0]))
        return ContentFormat::kOpenAi;
    return ContentFormat::kString;
  }

 private:
  // Adds every name set (transitively) from a name in `names`, its filters,
  // tests or slices: `{% set loop_messages = messages[1:] %}`.
  void close_over_aliases(Names& names) const {
    std::vector<std::string> todo(names.begin(), names.end());
    while (!todo.empty()) {
      const std::string name = std::move(todo.back());
      todo.pop_back();
      auto [begin, end] = alias_of_.equal_range(name);
      for (auto it = begin; it != end; ++it)
        if (names.insert(it->second).second) todo.push_back(it->second);
    }
  }

  // A message: a loop variable over the messages, or messages[N].
  bool is_message(const Expr& e) const {
    if (e.kind == ExprKind::kName) return message_vars_.contains(e.name);
    return e.kind == ExprKind::kGetItem && e.children.size() == 2 &&
           is_int_literal(e.children[1].get()) && e.children[0] &&
           is_name_in(peel(*e.children[0]), messages_);
  }

  // message.content or message['content'] (already peeled).
  bool is_content_of_message(const Expr& p) const {
    if (p.children.empty() || !p.children[0]) return false;
    if (p.kind == ExprKind::kGetAttr) return p.name == "content" && is_message(*p.children[0]);
    return p.kind == ExprKind::kGetItem && p.children.size() == 2 &&
           is_str_literal(p.children[1].get(), "content") && is_message(*p.children[0]);
  }

  bool is_content(const Expr& e) const {
    const Expr& p = peel(e);
    return is_content_of_message(p) || is_name_in(p, contents_);
  }

  std::multimap<std::string, std::string, std::less<>> alias_of_;  // {% set value = name %}
  std::vector<const Stmt*> fors_;
  std::vector<const Expr*> exprs_;  // every expression, sub-expressions included
  Names messages_, message_vars_, contents_;
};

}  // namespace

ContentFormat detect_content_format(const Body& body) {
  return Detector(body).detect();
}

}  // namespace pdserve::chat_template
