#include "tokenizer/chat_template/parser.h"

#include <set>
#include <string>
#include <utility>

#include "tokenizer/chat_template/builtins.h"
#include "tokenizer/chat_template/parser_impl.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {
namespace {

const std::set<std::string, std::less<>> kKnownUnsupportedTags = {
    "include", "import",     "from",  "extends",   "block", "with",
    "do",      "autoescape", "trans", "pluralize", "print"};

}  // namespace

Body Parser::run() {
  std::string end;
  Body body = parse_body({}, &end);
  for (const auto& [name, line] : called_names_) {
    if (!is_builtin_function(name) && !macros_.count(name) && name != "caller") {
      fail_at(line, "unsupported function '" + name + "'");
    }
  }
  return body;
}

Body Parser::parse_body(std::initializer_list<const char*> ends, std::string* found) {
  Guard g(&block_depth_, kMaxBlockNesting, cur().line, "blocks");
  Body body;
  while (true) {
    const Token& t = cur();
    if (t.type == TokenType::kEnd) {
      if (ends.size() == 0) return body;
      std::string names;
      for (const char* e : ends) names += std::string(names.empty() ? "" : " or ") + "'" + e + "'";
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

StmtPtr Parser::new_stmt(StmtKind kind) {
  auto s = std::make_unique<Stmt>();
  s->kind = kind;
  s->line = cur().line;
  return s;
}

StmtPtr Parser::parse_statement() {
  std::string tag = cur().text;
  int line = cur().line;
  ++i_;
  if (tag == "if") return parse_if(line);
  if (tag == "for") return parse_for(line);
  if (tag == "set") return parse_set(line);
  if (tag == "macro") return parse_macro(line);
  if (tag == "call") return parse_call_block(line);
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

StmtPtr Parser::parse_if(int line) {
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

std::vector<std::string> Parser::parse_targets() {
  std::vector<std::string> names;
  bool paren = skip_op("(");
  do {
    if (paren && is_op(")")) break;
    names.push_back(expect_name());
  } while (skip_op(","));
  if (paren) expect_op(")");
  return names;
}

StmtPtr Parser::parse_for(int line) {
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

StmtPtr Parser::parse_set(int line) {
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

StmtPtr Parser::parse_macro(int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kMacro;
  s->line = line;
  s->name = expect_name();
  macros_.insert(s->name);
  parse_params(s.get());
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

void Parser::parse_params(Stmt* s) {
  expect_op("(");
  while (!is_op(")")) {
    s->targets.push_back(expect_name());
    s->defaults.push_back(skip_op("=") ? parse_expr() : nullptr);
    if (!skip_op(",")) break;
  }
  expect_op(")");
}

// {% call(params) macro(args) %}body{% endcall %}: body becomes the `caller` macro.
StmtPtr Parser::parse_call_block(int line) {
  auto s = std::make_unique<Stmt>();
  s->kind = StmtKind::kCallBlock;
  s->line = line;
  s->caller = std::make_unique<Stmt>();
  s->caller->kind = StmtKind::kMacro;
  s->caller->line = line;
  s->caller->name = "caller";
  if (is_op("(")) parse_params(s->caller.get());
  s->expr = parse_expr();
  if (s->expr->kind != ExprKind::kCall) fail_at(line, "expected a macro call after 'call'");
  expect_block_end();
  int saved_loops = loop_depth_;
  loop_depth_ = 0;
  std::string end;
  s->caller->bodies.push_back(parse_body({"endcall"}, &end));
  loop_depth_ = saved_loops;
  expect_block_end();
  return s;
}

Body parse_template(const std::vector<Token>& tokens) {
  return Parser(tokens).run();
}

}  // namespace pdserve::chat_template
