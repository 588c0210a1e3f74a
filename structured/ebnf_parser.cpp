#include "structured/ebnf_parser.h"

#include <cctype>
#include <utility>
#include <vector>

#include "structured/syntax_cursor.h"
#include "structured/utf8_ranges.h"

namespace pdserve::structured {
namespace {

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

class EbnfParser {
 public:
  EbnfParser(std::string_view text, GrammarBuilder* builder)
      : cur_(text, "grammar"), builder_(builder) {}

  Status parse() {
    skip_space();
    if (cur_.at_end()) return cur_.error("the grammar has no rules");
    while (!cur_.at_end()) {
      std::string name = read_name();
      if (name.empty()) return cur_.error("expected a rule name");
      skip_space();
      if (cur_.rest().substr(0, 3) != "::=")
        return cur_.error("expected '::=' after '" + name + "'");
      cur_.advance(3);
      PD_ASSIGN_OR_RETURN(Expr body, parse_alternatives(0));
      int32_t id = rule_id(name);
      if (builder_->is_defined(id)) return cur_.error("rule '" + name + "' is defined twice");
      PD_RETURN_IF_ERROR(builder_->define_rule(id, body));
      skip_space();
    }
    return ok_status();
  }

 private:
  static constexpr int kMaxDepth = 100;

  void skip_space() {
    while (!cur_.at_end()) {
      if (std::isspace(static_cast<unsigned char>(cur_.peek()))) {
        cur_.advance();
      } else if (cur_.peek() == '#') {
        while (!cur_.at_end() && cur_.peek() != '\n') cur_.advance();
      } else {
        return;
      }
    }
  }

  std::string read_name() {
    std::string name;
    while (is_name_char(cur_.peek()) && !cur_.at_end()) {
      name += cur_.peek();
      cur_.advance();
    }
    return name;
  }

  // A name followed by ::= starts the next rule, so it ends this sequence.
  bool at_rule_start() const {
    size_t i = 0;
    while (is_name_char(cur_.peek(i))) ++i;
    if (i == 0) return false;
    while (cur_.peek(i) == ' ' || cur_.peek(i) == '\t' || cur_.peek(i) == '\n' ||
           cur_.peek(i) == '\r') {
      ++i;
    }
    return cur_.peek(i) == ':' && cur_.peek(i + 1) == ':' && cur_.peek(i + 2) == '=';
  }

  int32_t rule_id(const std::string& name) {
    int32_t id = builder_->find_rule(name);
    return id >= 0 ? id : builder_->declare_rule(name);
  }

  Result<Expr> parse_alternatives(int depth) {
    if (depth > kMaxDepth) return cur_.error("groups nested too deeply");
    std::vector<Expr> options;
    while (true) {
      PD_ASSIGN_OR_RETURN(Expr seq, parse_sequence(depth));
      options.push_back(std::move(seq));
      skip_space();
      if (!cur_.consume('|')) break;
    }
    return Expr::alt(std::move(options));
  }

  Result<Expr> parse_sequence(int depth) {
    std::vector<Expr> items;
    while (true) {
      skip_space();
      char c = cur_.peek();
      if (cur_.at_end() || c == '|' || c == ')' || at_rule_start()) break;
      PD_ASSIGN_OR_RETURN(Expr term, parse_term(depth));
      PD_ASSIGN_OR_RETURN(std::optional<Quantifier> q, cur_.read_quantifier());
      if (q) term = Expr::repeat(std::move(term), q->min, q->max);
      items.push_back(std::move(term));
    }
    return Expr::seq(std::move(items));
  }

  Result<Expr> parse_term(int depth) {
    char c = cur_.peek();
    if (c == '"') return parse_literal();
    if (c == '[') {
      PD_ASSIGN_OR_RETURN(std::vector<CodepointRange> ranges, cur_.read_class());
      return Expr::char_class(std::move(ranges));
    }
    if (c == '.') {
      cur_.advance();
      return Expr::char_class({{0, kMaxCodepoint}});
    }
    if (c == '(') {
      cur_.advance();
      PD_ASSIGN_OR_RETURN(Expr inner, parse_alternatives(depth + 1));
      skip_space();
      if (!cur_.consume(')')) return cur_.error("expected ')'");
      return inner;
    }
    if (is_name_char(c)) return Expr::ref(rule_id(read_name()));
    return cur_.error(std::string("unexpected '") + c + "'");
  }

  Result<Expr> parse_literal() {
    cur_.advance();  // '"'
    std::string bytes;
    while (true) {
      if (cur_.at_end() || cur_.peek() == '\n') return cur_.error("unterminated string literal");
      if (cur_.consume('"')) break;
      uint32_t cp = 0;
      if (cur_.consume('\\')) {
        PD_ASSIGN_OR_RETURN(cp, cur_.read_escape());
      } else {
        PD_ASSIGN_OR_RETURN(cp, cur_.read_codepoint());
      }
      bytes += encode_utf8(cp);
    }
    return Expr::literal(std::move(bytes));
  }

  SyntaxCursor cur_;
  GrammarBuilder* builder_;
};

}  // namespace

Status add_ebnf_rules(std::string_view text, GrammarBuilder* builder) {
  return EbnfParser(text, builder).parse();
}

Result<Grammar> parse_ebnf(std::string_view text, std::string_view root) {
  GrammarBuilder builder;
  PD_RETURN_IF_ERROR(add_ebnf_rules(text, &builder));
  int32_t root_id = builder.find_rule(std::string(root));
  if (root_id < 0) return invalid_argument("grammar: no rule named '" + std::string(root) + "'");
  return builder.build(root_id);
}

}  // namespace pdserve::structured
