// Parser internals shared by parser.cpp (statements) and expression_parser.cpp
// (expressions): the token cursor, nesting guards and the methods of both halves.
#pragma once

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/lexer.h"
#include "tokenizer/chat_template/parser.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  // The whole template; checks every called function exists once all macros are known.
  Body run();

 private:
  // --- token helpers ---
  const Token& cur() const { return t_[i_]; }
  const Token& peek(size_t n = 1) const { return t_[std::min(i_ + n, t_.size() - 1)]; }
  bool is_op(const char* op) const {
    return cur().type == TokenType::kOperator && cur().text == op;
  }
  bool is_name(const char* name) const {
    return cur().type == TokenType::kName && cur().text == name;
  }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    ++i_;
    return true;
  }
  bool skip_name(const char* name) {
    if (!is_name(name)) return false;
    ++i_;
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.type) {
      case TokenType::kBlockEnd: return "'%}'";
      case TokenType::kVarEnd: return "'}}'";
      case TokenType::kEnd: return "end of template";
      case TokenType::kString: return "string";
      case TokenType::kText: return "template text";
      default: return "'" + t.text + "'";
    }
  }
  [[noreturn]] void unexpected(const std::string& expected) const {
    fail_at(cur().line, "unexpected " + describe(cur()) + ", expected " + expected);
  }
  void expect_op(const char* op) {
    if (!skip_op(op)) unexpected(std::string("'") + op + "'");
  }
  std::string expect_name() {
    if (cur().type != TokenType::kName) unexpected("a name");
    return t_[i_++].text;
  }
  void expect_block_end() {
    if (cur().type != TokenType::kBlockEnd) unexpected("'%}'");
    ++i_;
  }

  // --- nesting guards ---
  struct Guard {
    Guard(int* depth, int limit, int line, const char* what) : depth_(depth) {
      if (++*depth_ > limit) fail_at(line, std::string(what) + " nested too deeply");
    }
    ~Guard() { --*depth_; }
    int* depth_;
  };

  ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  ExprPtr finish(ExprPtr e) {
    int d = 0;
    for (const auto& c : e->children) d = std::max(d, c ? c->depth : 0);
    for (const auto& c : e->kwarg_values) d = std::max(d, c->depth);
    e->depth = d + 1;
    if (e->depth > kMaxExprDepth) fail_at(e->line, "expression nested too deeply");
    return e;
  }
  ExprPtr binary(ExprKind kind, std::string op, ExprPtr l, ExprPtr r, int line) {
    if (op == "%" && l->kind == ExprKind::kLiteral && l->literal.is_string()) {
      fail_at(line, "unsupported: printf-style '%' string formatting");
    }
    auto e = make(kind, line);
    e->name = std::move(op);
    e->children.push_back(std::move(l));
    e->children.push_back(std::move(r));
    return finish(std::move(e));
  }

  // --- statements (parser.cpp) ---
  Body parse_body(std::initializer_list<const char*> ends, std::string* found);
  StmtPtr new_stmt(StmtKind kind);
  StmtPtr parse_statement();
  StmtPtr parse_if(int line);
  std::vector<std::string> parse_targets();
  StmtPtr parse_for(int line);
  StmtPtr parse_set(int line);
  StmtPtr parse_macro(int line);
  StmtPtr parse_call_block(int line);
  void parse_params(Stmt* s);

  // --- expressions (expression_parser.cpp) ---
  bool at_tuple_end() const;
  ExprPtr parse_tuple(bool with_condexpr);
  ExprPtr parse_expr();
  ExprPtr parse_or();
  ExprPtr parse_and();
  ExprPtr parse_not();
  ExprPtr parse_compare();
  ExprPtr parse_math1();
  ExprPtr parse_concat();
  ExprPtr parse_math2();
  ExprPtr parse_pow();
  ExprPtr parse_unary(bool with_filter);
  ExprPtr parse_primary();
  ExprPtr parse_postfix(ExprPtr e);
  ExprPtr parse_subscript(ExprPtr obj, int line);
  void parse_call_args(Expr* e);
  ExprPtr parse_call(ExprPtr callee);
  ExprPtr parse_filter_chain(ExprPtr e, bool filters_only, bool first_without_bar = false);

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int block_depth_ = 0;
  int expr_depth_ = 0;
  int loop_depth_ = 0;
  std::set<std::string> macros_;
  std::vector<std::pair<std::string, int>> called_names_;
};

}  // namespace pdserve::chat_template
