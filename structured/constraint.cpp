#include "structured/constraint.h"

#include "structured/ebnf_parser.h"
#include "structured/grammar_builder.h"
#include "structured/json_schema.h"
#include "structured/regex_parser.h"

namespace pdserve::structured {
namespace {

Result<Grammar> choice_grammar(const std::vector<std::string>& choices) {
  if (choices.empty()) return invalid_argument("choice: the list of choices is empty");
  std::vector<Expr> options;
  for (const std::string& c : choices) {
    if (c.empty()) return invalid_argument("choice: a choice is empty");
    options.push_back(Expr::literal(c));
  }
  return build_single_rule(Expr::alt(std::move(options)));
}

}  // namespace

Result<Grammar> build_grammar(const Constraint& c) {
  size_t size = c.text.size();
  for (const std::string& choice : c.choices) size += choice.size();
  if (size > kMaxConstraintBytes) {
    return invalid_argument("structured: the constraint is larger than " +
                            std::to_string(kMaxConstraintBytes) + " bytes");
  }
  switch (c.kind) {
    case Constraint::Kind::kJsonSchema: return json_schema_grammar(c.text);
    case Constraint::Kind::kJsonObject: return json_object_grammar();
    case Constraint::Kind::kRegex: {
      PD_ASSIGN_OR_RETURN(Expr e, parse_regex(c.text));
      return build_single_rule(e);
    }
    case Constraint::Kind::kChoice: return choice_grammar(c.choices);
    case Constraint::Kind::kGrammar: return parse_ebnf(c.text);
  }
  return internal_error("structured: unknown constraint kind");
}

}  // namespace pdserve::structured
