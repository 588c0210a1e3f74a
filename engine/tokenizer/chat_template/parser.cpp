#include "engine/tokenizer/chat_template/parser.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "engine/tokenizer/chat_template/builtins.h"
#include "engine/tokenizer/chat_template/filters.h"
#include "engine/tokenizer/chat_template/jinja_tests.h"
#include "engine/tokenizer/chat_template/methods.h"
#include "engine/tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

const std::set<std::string, std::less<>> kKnownUnsupportedTags = {
    "include", "import", "from",       "extends", "block",     "call",
    "with",    "do",     "autoescape", "trans",   "pluralize", "print"};

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : t_(tokens) {}

  Body run() {
    std::string end;
    Body body = parse_body({}, &end);
    for (const auto& [name, line] : called_names_) {
      if (!is_builtin_function(name) && !macros_.count(name)) {
        fail_at(line, "unsupported function '" + name + "'");
      }
    }
    return body;
  }

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
    auto e = make(kind, line);
    e->name = std::move(op);
    e->children.push_back(std::move(l));
    e->children.push_back(std::move(r));
    return finish(std::move(e));
  }

  // --- statements ---
  Body parse_body(std::initializer_list<const char*> ends, std::string* found) {
    Guard g(&block_depth_, kMaxBlockNesting, cur().line, "blocks");
    Body body;
    while (true) {
      const Token& t = cur();
      if (t.type == TokenType::kEnd) {
        if (ends.size() == 0) return body;
        std::string names;
        for (const char* e : ends)
          names += std::string(names.empty() ? "" : " or ") + "'" + e + "'";
        fail_at(t.line, "unexpected end of template, expected " + names);
      }
      if (t.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->line = t.line;
        s->text = t.text;
        body.push_back(std::move(s));
        ++i_;
      } else if (t.type == TokenType::kVarBegin) {
        ++i_;
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = t.line;
        s->expr = parse_tuple(true);
        if (cur().type != TokenType::kVarEnd) unexpected("'}}'");
        ++i_;
        body.push_back(std::move(s));
      } else if (t.type == TokenType::kBlockBegin) {
        ++i_;
        if (cur().type != TokenType::kName) unexpected("a tag name");
        const std::string& tag = cur().text;
        for (const char* e : ends) {
          if (tag == e) {
            *found = tag;
            ++i_;
            return body;
          }
        }
        body.push_back(parse_statement());
      } else {
        unexpected("template text or a tag");
      }
    }
  }

  StmtPtr new_stmt(StmtKind kind) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->line = cur().line;
    return s;
  }

  StmtPtr parse_statement() {
    std::string tag = cur().text;
    int line = cur().line;
    ++i_;
    if (tag == "if") return parse_if(line);
    if (tag == "for") return parse_for(line);
    if (tag == "set") return parse_set(line);
    if (tag == "macro") return parse_macro(line);
    if (tag == "break" || tag == "continue") {
      if (loop_depth_ == 0) fail_at(line, "'" + tag + "' outside a for loop");
      auto s = std::make_unique<Stmt>();
      s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      s->line = line;
      expect_block_end();
      return s;
    }
    if (tag == "generation") {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kGeneration;
      s->line = line;
      expect_block_end();
      std::string end;
      s->bodies.push_back(parse_body({"endgeneration"}, &end));
      expect_block_end();
      return s;
    }
    if (tag == "filter") {
      auto s = std::make_unique<Stmt>();
      s->kind = StmtKind::kFilterBlock;
      s->line = line;
      auto block = make(ExprKind::kName, line);
      block->name = "__block__";
      s->conds.push_back(parse_filter_chain(std::move(block), true, true));
      expect_block_end();
      std::string end;
      s->bodies.push_back(parse_body({"endfilter"}, &end));
      expect_block_end();
      return s;
    }
    if (kKnownUnsupportedTags.count(tag)) fail_at(line, "unsupported tag '" + tag + "'");
    if (tag.rfind("end", 0) == 0 || tag == "elif" || tag == "else") {
      fail_at(line, "unexpected tag '" + tag + "'");
    }
    fail_at(line, "unsupported tag '" + tag + "'");
  }

  StmtPtr parse_if(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kIf;
    s->line = line;
    s->conds.push_back(parse_tuple(true));
    expect_block_end();
    while (true) {
      std::string end;
      Body b = parse_body({"elif", "else", "endif"}, &end);
      s->bodies.push_back(std::move(b));
      if (end == "elif") {
        s->conds.push_back(parse_tuple(true));
        expect_block_end();
        continue;
      }
      if (end == "else") {
        expect_block_end();
        s->else_body = parse_body({"endif"}, &end);
      }
      expect_block_end();
      return s;
    }
  }

  std::vector<std::string> parse_targets() {
    std::vector<std::string> names;
    bool paren = skip_op("(");
    do {
      if (paren && is_op(")")) break;
      names.push_back(expect_name());
    } while (skip_op(","));
    if (paren) expect_op(")");
    return names;
  }

  StmtPtr parse_for(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kFor;
    s->line = line;
    s->targets = parse_targets();
    if (!skip_name("in")) unexpected("'in'");
    s->expr = parse_tuple(false);
    if (is_name("recursive")) fail_at(cur().line, "unsupported: recursive for loops");
    if (skip_name("if")) s->filter = parse_expr();
    expect_block_end();
    ++loop_depth_;
    std::string end;
    s->bodies.push_back(parse_body({"endfor", "else"}, &end));
    --loop_depth_;
    if (end == "else") {
      expect_block_end();
      s->else_body = parse_body({"endfor"}, &end);
    }
    expect_block_end();
    return s;
  }

  StmtPtr parse_set(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kSet;
    s->line = line;
    std::string first = expect_name();
    if (skip_op(".")) {
      s->targets.push_back(first);
      s->attr = expect_name();
    } else {
      s->targets.push_back(first);
      while (skip_op(",")) s->targets.push_back(expect_name());
    }
    if (skip_op("=")) {
      s->expr = parse_tuple(true);
      expect_block_end();
      return s;
    }
    if (!s->attr.empty() || s->targets.size() != 1) unexpected("'='");
    s->kind = StmtKind::kSetBlock;
    if (is_op("|")) {
      auto block = make(ExprKind::kName, line);
      block->name = "__block__";
      s->conds.push_back(parse_filter_chain(std::move(block), true));
    }
    expect_block_end();
    std::string end;
    s->bodies.push_back(parse_body({"endset"}, &end));
    expect_block_end();
    return s;
  }

  StmtPtr parse_macro(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::kMacro;
    s->line = line;
    s->name = expect_name();
    macros_.insert(s->name);
    expect_op("(");
    while (!is_op(")")) {
      s->targets.push_back(expect_name());
      s->defaults.push_back(skip_op("=") ? parse_expr() : nullptr);
      if (!skip_op(",")) break;
    }
    expect_op(")");
    expect_block_end();
    int saved_loops = loop_depth_;
    loop_depth_ = 0;
    std::string end;
    s->bodies.push_back(parse_body({"endmacro"}, &end));
    loop_depth_ = saved_loops;
    if (cur().type == TokenType::kName && cur().text == s->name) ++i_;
    expect_block_end();
    return s;
  }

  // --- expressions ---
  bool at_tuple_end() const {
    const Token& t = cur();
    return t.type == TokenType::kBlockEnd || t.type == TokenType::kVarEnd ||
           (t.type == TokenType::kOperator && (t.text == ")" || t.text == "]" || t.text == "}"));
  }

  ExprPtr parse_tuple(bool with_condexpr) {
    int line = cur().line;
    ExprPtr first = with_condexpr ? parse_expr() : parse_or();
    if (!is_op(",")) return first;
    auto t = make(ExprKind::kTuple, line);
    t->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (at_tuple_end()) break;
      t->children.push_back(with_condexpr ? parse_expr() : parse_or());
    }
    return finish(std::move(t));
  }

  ExprPtr parse_expr() {
    Guard g(&expr_depth_, kMaxExprNesting, cur().line, "expressions");
    ExprPtr e = parse_or();
    while (is_name("if")) {
      int line = cur().line;
      ++i_;
      auto c = make(ExprKind::kCondExpr, line);
      c->children.push_back(parse_or());
      c->children.push_back(std::move(e));
      c->children.push_back(skip_name("else") ? parse_expr() : nullptr);
      e = finish(std::move(c));
    }
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, "or", std::move(e), parse_and(), line);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, "and", std::move(e), parse_not(), line);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (!is_name("not")) return parse_compare();
    Guard g(&expr_depth_, kMaxExprNesting, cur().line, "expressions");
    auto e = make(ExprKind::kNot, cur().line);
    ++i_;
    e->children.push_back(parse_not());
    return finish(std::move(e));
  }

  ExprPtr parse_compare() {
    int line = cur().line;
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      const Token& t = cur();
      if (t.type == TokenType::kOperator && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                             t.text == "<=" || t.text == ">" || t.text == ">=")) {
        op = t.text;
        ++i_;
      } else if (is_name("in")) {
        op = "in";
        ++i_;
      } else if (is_name("not") && peek().type == TokenType::kName && peek().text == "in") {
        op = "notin";
        i_ += 2;
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::kCompare, line);
        cmp->children.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->children.push_back(parse_math1());
    }
    return cmp ? finish(std::move(cmp)) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = cur().text;
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, op, std::move(e), parse_concat(), line);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (is_op("~")) {
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, "~", std::move(e), parse_math2(), line);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = cur().text;
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, op, std::move(e), parse_pow(), line);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      int line = cur().line;
      ++i_;
      e = binary(ExprKind::kBinary, "**", std::move(e), parse_unary(true), line);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    Guard g(&expr_depth_, kMaxExprNesting, cur().line, "expressions");
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      e = make(is_op("-") ? ExprKind::kNeg : ExprKind::kPos, cur().line);
      ++i_;
      e->children.push_back(parse_unary(false));
      e = finish(std::move(e));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_chain(std::move(e), false);
    return e;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    int line = t.line;
    if (t.type == TokenType::kName) {
      ++i_;
      auto e = make(ExprKind::kLiteral, line);
      if (t.text == "true" || t.text == "True") {
        e->literal = Value::boolean(true);
      } else if (t.text == "false" || t.text == "False") {
        e->literal = Value::boolean(false);
      } else if (t.text == "none" || t.text == "None") {
        e->literal = Value::none();
      } else {
        e->kind = ExprKind::kName;
        e->name = t.text;
      }
      return e;
    }
    if (t.type == TokenType::kString) {
      std::string s;
      while (cur().type == TokenType::kString) s += t_[i_++].text;
      auto e = make(ExprKind::kLiteral, line);
      e->literal = Value::string(std::move(s));
      return e;
    }
    if (t.type == TokenType::kInt || t.type == TokenType::kFloat) {
      auto e = make(ExprKind::kLiteral, line);
      e->literal =
          t.type == TokenType::kInt ? Value::integer(t.int_value) : Value::floating(t.float_value);
      ++i_;
      return e;
    }
    if (skip_op("(")) {
      if (skip_op(")")) return make(ExprKind::kTuple, line);
      ExprPtr first = parse_expr();
      if (skip_op(")")) return first;
      auto tup = make(ExprKind::kTuple, line);
      tup->children.push_back(std::move(first));
      while (skip_op(",")) {
        if (is_op(")")) break;
        tup->children.push_back(parse_expr());
      }
      expect_op(")");
      return finish(std::move(tup));
    }
    if (skip_op("[")) {
      auto list = make(ExprKind::kList, line);
      while (!is_op("]")) {
        list->children.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("]");
      return finish(std::move(list));
    }
    if (skip_op("{")) {
      auto dict = make(ExprKind::kDict, line);
      while (!is_op("}")) {
        dict->children.push_back(parse_expr());
        expect_op(":");
        dict->children.push_back(parse_expr());
        if (!skip_op(",")) break;
      }
      expect_op("}");
      return finish(std::move(dict));
    }
    unexpected("an expression");
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      int line = cur().line;
      if (skip_op(".")) {
        if (cur().type == TokenType::kInt) {
          auto idx = make(ExprKind::kLiteral, line);
          idx->literal = Value::integer(cur().int_value);
          ++i_;
          e = binary(ExprKind::kGetItem, "", std::move(e), std::move(idx), line);
          continue;
        }
        auto g = make(ExprKind::kGetAttr, line);
        g->name = expect_name();
        g->children.push_back(std::move(e));
        e = finish(std::move(g));
      } else if (skip_op("[")) {
        e = parse_subscript(std::move(e), line);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr obj, int line) {
    ExprPtr start;
    if (!is_op(":")) start = parse_expr();
    if (!skip_op(":")) {
      expect_op("]");
      return binary(ExprKind::kGetItem, "", std::move(obj), std::move(start), line);
    }
    auto s = make(ExprKind::kSlice, line);
    s->children.push_back(std::move(obj));
    s->children.push_back(std::move(start));
    s->children.push_back(is_op(":") || is_op("]") ? nullptr : parse_expr());
    ExprPtr step;
    if (skip_op(":") && !is_op("]")) step = parse_expr();
    s->children.push_back(std::move(step));
    expect_op("]");
    return finish(std::move(s));
  }

  void parse_call_args(Expr* e) {
    expect_op("(");
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) fail_at(cur().line, "unsupported: *args/**kwargs in a call");
      if (cur().type == TokenType::kName && peek().type == TokenType::kOperator &&
          peek().text == "=") {
        e->kwarg_names.push_back(cur().text);
        i_ += 2;
        e->kwarg_values.push_back(parse_expr());
      } else {
        if (!e->kwarg_names.empty()) fail_at(cur().line, "positional argument after keyword");
        e->children.push_back(parse_expr());
      }
      if (!skip_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto c = make(ExprKind::kCall, cur().line);
    if (callee->kind == ExprKind::kName) {
      called_names_.emplace_back(callee->name, callee->line);
    } else if (callee->kind == ExprKind::kGetAttr && !is_known_method(callee->name)) {
      fail_at(callee->line, "unsupported method '" + callee->name + "'");
    }
    c->children.push_back(std::move(callee));
    parse_call_args(c.get());
    return finish(std::move(c));
  }

  ExprPtr parse_filter_chain(ExprPtr e, bool filters_only, bool first_without_bar = false) {
    while (true) {
      int line = cur().line;
      if (first_without_bar || skip_op("|")) {
        first_without_bar = false;
        auto f = make(ExprKind::kFilter, line);
        f->name = expect_name();
        if (!is_known_filter(f->name)) fail_at(line, "unsupported filter '" + f->name + "'");
        f->children.push_back(std::move(e));
        if (is_op("(")) parse_call_args(f.get());
        e = finish(std::move(f));
      } else if (!filters_only && skip_name("is")) {
        auto t = make(ExprKind::kTest, line);
        t->negated = skip_name("not");
        t->name = expect_name();
        if (!is_known_test(t->name)) fail_at(line, "unsupported test '" + t->name + "'");
        t->children.push_back(std::move(e));
        const Token& n = cur();
        if (is_op("(")) {
          parse_call_args(t.get());
        } else if ((n.type == TokenType::kName && n.text != "else" && n.text != "or" &&
                    n.text != "and" && n.text != "is" && n.text != "if") ||
                   n.type == TokenType::kString || n.type == TokenType::kInt ||
                   n.type == TokenType::kFloat || is_op("[") || is_op("{")) {
          t->children.push_back(parse_postfix(parse_primary()));
        }
        e = finish(std::move(t));
      } else if (!filters_only && is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int block_depth_ = 0;
  int expr_depth_ = 0;
  int loop_depth_ = 0;
  std::set<std::string> macros_;
  std::vector<std::pair<std::string, int>> called_names_;
};

}  // namespace

Body parse_template(const std::vector<Token>& tokens) {
  return Parser(tokens).run();
}

}  // namespace pdserve::chat_template
