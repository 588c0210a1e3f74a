#include "structured/regex_parser.h"

#include <utility>
#include <vector>

#include "structured/syntax_cursor.h"
#include "structured/utf8_ranges.h"

namespace pdserve::structured {
namespace {

Expr any_but_newline() {
  return Expr::char_class(complement_ranges({{'\n', '\n'}}));
}

class RegexParser {
 public:
  RegexParser(std::string_view pattern, RegexMatch match) : cur_(pattern, "regex"), match_(match) {}

  Result<Expr> parse() {
    PD_ASSIGN_OR_RETURN(Expr e, parse_alternatives(0));
    if (!cur_.at_end()) return cur_.error("unmatched ')'");
    return e;
  }

 private:
  static constexpr int kMaxDepth = 100;

  Result<Expr> parse_alternatives(int depth) {
    if (depth > kMaxDepth) return cur_.error("groups nested too deeply");
    std::vector<Expr> options;
    do {
      PD_ASSIGN_OR_RETURN(Expr seq, parse_sequence(depth));
      options.push_back(std::move(seq));
    } while (cur_.consume('|'));
    return Expr::alt(std::move(options));
  }

  Result<Expr> parse_sequence(int depth) {
    std::vector<Expr> items;
    bool top = depth == 0;
    bool anchored_start = top && cur_.consume('^');
    bool anchored_end = false;
    while (!cur_.at_end() && cur_.peek() != '|' && cur_.peek() != ')') {
      if (cur_.peek() == '$') {
        char next = cur_.peek(1);
        if (!top || (next != '\0' && next != '|')) return cur_.error("'$' inside the regex");
        cur_.advance();
        anchored_end = true;
        break;
      }
      if (cur_.peek() == '^') return cur_.error("'^' inside the regex");
      PD_ASSIGN_OR_RETURN(Expr atom, parse_atom(depth));
      PD_ASSIGN_OR_RETURN(std::optional<Quantifier> q, cur_.read_quantifier());
      if (q) atom = Expr::repeat(std::move(atom), q->min, q->max);
      items.push_back(std::move(atom));
    }
    if (top && match_ == RegexMatch::kSearch) {
      if (!anchored_start) items.insert(items.begin(), Expr::star(any_but_newline()));
      if (!anchored_end) items.push_back(Expr::star(any_but_newline()));
    }
    return Expr::seq(std::move(items));
  }

  Result<Expr> parse_atom(int depth) {
    char c = cur_.peek();
    switch (c) {
      case '(': return parse_group(depth);
      case '[': {
        PD_ASSIGN_OR_RETURN(std::vector<CodepointRange> ranges, cur_.read_class());
        return Expr::char_class(std::move(ranges));
      }
      case '.': cur_.advance(); return any_but_newline();
      case '*':
      case '+':
      case '?': return cur_.error(std::string("nothing to repeat before '") + c + "'");
      case '\\': return parse_escape();
      default: {
        PD_ASSIGN_OR_RETURN(uint32_t cp, cur_.read_codepoint());
        return Expr::literal(encode_utf8(cp));
      }
    }
  }

  Result<Expr> parse_group(int depth) {
    cur_.advance();  // '('
    if (cur_.consume('?')) {
      if (cur_.consume(':')) {
        // non-capturing group
      } else if (cur_.peek() == '<' && cur_.peek(1) != '=' && cur_.peek(1) != '!') {
        PD_RETURN_IF_ERROR(skip_group_name());
      } else if (cur_.peek() == 'P' && cur_.peek(1) == '<') {
        cur_.advance();
        PD_RETURN_IF_ERROR(skip_group_name());
      } else {
        return cur_.error("lookaround, inline flags and other (? groups are not supported");
      }
    }
    PD_ASSIGN_OR_RETURN(Expr inner, parse_alternatives(depth + 1));
    if (!cur_.consume(')')) return cur_.error("expected ')'");
    return inner;
  }

  Status skip_group_name() {
    cur_.advance();  // '<'
    while (!cur_.at_end() && cur_.peek() != '>') cur_.advance();
    if (!cur_.consume('>')) return cur_.error("unterminated group name");
    return ok_status();
  }

  Result<Expr> parse_escape() {
    cur_.advance();  // '\\'
    char c = cur_.peek();
    if (auto shorthand = shorthand_class(c)) {
      cur_.advance();
      return Expr::char_class(std::move(*shorthand));
    }
    if (c == 'b' || c == 'B') return cur_.error("word boundaries (\\b) are not supported");
    if (c >= '1' && c <= '9') return cur_.error("backreferences are not supported");
    PD_ASSIGN_OR_RETURN(uint32_t cp, cur_.read_escape());
    return Expr::literal(encode_utf8(cp));
  }

  SyntaxCursor cur_;
  RegexMatch match_;
};

}  // namespace

Result<Expr> parse_regex(std::string_view pattern, RegexMatch match) {
  return RegexParser(pattern, match).parse();
}

}  // namespace pdserve::structured
