#include "structured/ebnf_parser.h"

#include <gtest/gtest.h>

#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

Grammar parse_ok(std::string_view text) {
  Result<Grammar> g = parse_ebnf(text);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return g.ok() ? std::move(g).value() : Grammar();
}

std::string parse_error(std::string_view text) {
  Result<Grammar> g = parse_ebnf(text);
  EXPECT_FALSE(g.ok()) << text;
  return g.ok() ? "" : g.status().message();
}

TEST(EbnfParser, SmallJsonLikeGrammar) {
  Grammar g = parse_ok(R"(
    # an object of lowercase keys
    root   ::= "{" ws pair ("," ws pair)* "}"
    pair   ::= [a-z]+ ":" ws ( number | "null" )
    number ::= "-"? [0-9]+ ("." [0-9]+)?
    ws     ::= [ \t\n]*
  )");
  EXPECT_TRUE(accepts(g, "{a:1}"));
  EXPECT_TRUE(accepts(g, "{ ab: -1.5, c:null}"));
  EXPECT_FALSE(accepts(g, "{A:1}"));
  EXPECT_FALSE(accepts(g, "{a:1,}"));
  EXPECT_TRUE(is_viable_prefix(g, "{a:1,"));
}

TEST(EbnfParser, EscapesDotAndRepetitionCounts) {
  Grammar g = parse_ok("root ::= \"\\x41\\u00e9\\n\" . [^\\]x]{2,3} \"\\\"\"");
  EXPECT_TRUE(accepts(g,
                      "A\xC3\xA9\n\xE2\x82\xAC"
                      "ab\""));
  EXPECT_TRUE(accepts(g, "A\xC3\xA9\nzabc\""));
  EXPECT_FALSE(accepts(g, "A\xC3\xA9\nzx]\""));
  EXPECT_FALSE(accepts(g, "A\xC3\xA9\nzabcd\""));
}

TEST(EbnfParser, RulesInAnyOrderAndRecursive) {
  Grammar g =
      parse_ok("root ::= list\nlist ::= \"[\" (item (\",\" item)*)? \"]\"\nitem ::= [0-9] | list");
  EXPECT_TRUE(accepts(g, "[1,[2,[]],3]"));
  EXPECT_FALSE(accepts(g, "[1,[2,[]],3"));
}

TEST(EbnfParser, ClearErrors) {
  EXPECT_NE(parse_error("").find("no rules"), std::string::npos);
  EXPECT_NE(parse_error("root \"a\"").find("'::='"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a").find("unterminated"), std::string::npos);
  EXPECT_NE(parse_error("root ::= (\"a\"").find("expected ')'"), std::string::npos);
  EXPECT_NE(parse_error("root ::= x").find("'x' is not defined"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"\nroot ::= \"b\"").find("defined twice"), std::string::npos);
  EXPECT_NE(parse_error("other ::= \"a\"").find("no rule named 'root'"), std::string::npos);
  EXPECT_NE(parse_error("root ::= root \"a\" | \"b\"").find("left-recursive"), std::string::npos);
  EXPECT_NE(parse_error("root ::= [z-a]").find("out of order"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"a\"{3,1}").find("below"), std::string::npos);
  EXPECT_NE(parse_error("root ::= \"\\q\"").find("unsupported escape"), std::string::npos);
  EXPECT_NE(parse_error("root ::= @").find("unexpected '@'"), std::string::npos);
  EXPECT_NE(parse_error(std::string(500, '(')).find("expected a rule name"), std::string::npos);
  EXPECT_NE(parse_error("root ::= " + std::string(500, '(')).find("nested too deeply"),
            std::string::npos);
}

}  // namespace
}  // namespace pdserve::structured
