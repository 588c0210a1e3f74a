// The syntax tree the parser builds and the evaluator walks. One generic
// node per kind of expression or statement; the comment on each kind says
// which fields it uses.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/chat_template/value.h"

namespace pdserve::chat_template {

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kGetAttr,   // children[0].name
  kGetItem,   // children[0][children[1]]
  kSlice,     // children[0][children[1]:children[2]:children[3]] (null = omitted)
  kCall,      // children[0](children[1..], kwargs)
  kFilter,    // children[0] | name(children[1..], kwargs)
  kTest,      // children[0] is [not] name(children[1..], kwargs)
  kNot,       // not children[0]
  kNeg,       // -children[0]
  kPos,       // +children[0]
  kBinary,    // children[0] name children[1]; name: and or + - * / // % ** ~
  kCompare,   // children[0] ops[0] children[1] ops[1] ...; ops: == != < <= > >= in notin
  kCondExpr,  // children[1] if children[0] else children[2] (null = no else)
  kList,      // [children...]
  kTuple,     // (children...)
  kDict,      // {children[0]: children[1], ...}
};

struct Expr {
  ExprKind kind;
  int line = 0;
  int depth = 1;  // height of this subtree, bounded by the parser
  Value literal;
  std::string name;
  std::vector<std::unique_ptr<Expr>> children;
  std::vector<std::string> kwarg_names;
  std::vector<std::unique_ptr<Expr>> kwarg_values;
  std::vector<std::string> ops;
  bool negated = false;
};
using ExprPtr = std::unique_ptr<Expr>;

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  kText,         // text
  kOutput,       // {{ expr }}
  kIf,           // if conds[i]: bodies[i] ...; else: else_body
  kFor,          // for targets in expr [if filter]: bodies[0]; else: else_body
  kSet,          // set targets = expr, or set targets[0].attr = expr when attr is non-empty
  kSetBlock,     // set targets[0] %}bodies[0]{% endset, then filters (conds, as kFilter chains)
  kMacro,        // macro name(targets with defaults[i]): bodies[0]
  kBreak,        // break
  kContinue,     // continue
  kCallBlock,    // call expr (a kCall) with `caller` bound to the macro in caller
  kGeneration,   // generation: bodies[0] (transformers' AssistantTracker tag: renders the body)
  kFilterBlock,  // filter conds[0] (a kFilter chain over a kName "__block__"): bodies[0]
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;
  std::string name;
  std::string attr;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<std::string> targets;
  std::vector<ExprPtr> defaults;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body else_body;
  std::unique_ptr<Stmt> caller;  // kCallBlock: {% call(params) %} body as a macro named "caller"
};

}  // namespace pdserve::chat_template
