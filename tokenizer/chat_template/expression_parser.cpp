// Parser: expressions (jinja2's precedence: condexpr, or, and, not, compare,
// + -, ~, * / // %, **, unary, postfix and filters/tests).
#include "tokenizer/chat_template/filters.h"
#include "tokenizer/chat_template/jinja_tests.h"
#include "tokenizer/chat_template/methods.h"
#include "tokenizer/chat_template/parser_impl.h"

namespace pdserve::chat_template {

bool Parser::at_tuple_end() const {
  const Token& t = cur();
  return t.type == TokenType::kBlockEnd || t.type == TokenType::kVarEnd ||
         (t.type == TokenType::kOperator && (t.text == ")" || t.text == "]" || t.text == "}"));
}

ExprPtr Parser::parse_tuple(bool with_condexpr) {
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

ExprPtr Parser::parse_expr() {
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

ExprPtr Parser::parse_or() {
  ExprPtr e = parse_and();
  while (is_name("or")) {
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, "or", std::move(e), parse_and(), line);
  }
  return e;
}

ExprPtr Parser::parse_and() {
  ExprPtr e = parse_not();
  while (is_name("and")) {
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, "and", std::move(e), parse_not(), line);
  }
  return e;
}

ExprPtr Parser::parse_not() {
  if (!is_name("not")) return parse_compare();
  Guard g(&expr_depth_, kMaxExprNesting, cur().line, "expressions");
  auto e = make(ExprKind::kNot, cur().line);
  ++i_;
  e->children.push_back(parse_not());
  return finish(std::move(e));
}

ExprPtr Parser::parse_compare() {
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

ExprPtr Parser::parse_math1() {
  ExprPtr e = parse_concat();
  while (is_op("+") || is_op("-")) {
    std::string op = cur().text;
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, op, std::move(e), parse_concat(), line);
  }
  return e;
}

ExprPtr Parser::parse_concat() {
  ExprPtr e = parse_math2();
  while (is_op("~")) {
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, "~", std::move(e), parse_math2(), line);
  }
  return e;
}

ExprPtr Parser::parse_math2() {
  ExprPtr e = parse_pow();
  while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
    std::string op = cur().text;
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, op, std::move(e), parse_pow(), line);
  }
  return e;
}

ExprPtr Parser::parse_pow() {
  ExprPtr e = parse_unary(true);
  while (is_op("**")) {
    int line = cur().line;
    ++i_;
    e = binary(ExprKind::kBinary, "**", std::move(e), parse_unary(true), line);
  }
  return e;
}

ExprPtr Parser::parse_unary(bool with_filter) {
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

ExprPtr Parser::parse_primary() {
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

ExprPtr Parser::parse_postfix(ExprPtr e) {
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

ExprPtr Parser::parse_subscript(ExprPtr obj, int line) {
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

void Parser::parse_call_args(Expr* e) {
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

ExprPtr Parser::parse_call(ExprPtr callee) {
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

ExprPtr Parser::parse_filter_chain(ExprPtr e, bool filters_only, bool first_without_bar) {
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

}  // namespace pdserve::chat_template
