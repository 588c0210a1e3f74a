#include "structured/regex_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>

#include "structured/grammar_builder.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

Result<Grammar> regex_grammar(std::string_view pattern, RegexMatch match = RegexMatch::kFull) {
  PD_ASSIGN_OR_RETURN(Expr e, parse_regex(pattern, match));
  return build_single_rule(e);
}

// Random strings over the pattern's own characters: the grammar accepts
// exactly what std::regex_match (ECMAScript) accepts.
TEST(RegexParser, AgreesWithStdRegex) {
  const char* patterns[] = {
      "abc",         "a|b|cd",    "(ab)*c",     "a+b?c{2}",     "[a-c]{1,3}d",
      "[^ab]x",      "(?:a|bc)+", "\\d{2}-\\d", "a.c",          "(a|b)*abb",
      "x{0,2}y{2,}", "[\\w-]+",   "\\s?a\\S",   "(?<g>ab|ba)+", "a*?b+?",
      "[a-]+",       "\\.\\*\\[", "(|a)b",      "[\\]a]+",      "\\x41\\u0042",
  };
  std::mt19937 rng(7);
  for (const char* p : patterns) {
    Result<Grammar> g = regex_grammar(p);
    ASSERT_TRUE(g.ok()) << p << ": " << g.status().to_string();
    std::regex re(p == std::string("(?<g>ab|ba)+") ? "(ab|ba)+" : p);
    std::string alphabet = std::string(p) + "abcdxy019 -";
    for (int i = 0; i < 400; ++i) {
      std::string s;
      size_t len = rng() % 7;
      for (size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
      ASSERT_EQ(accepts(*g, s), std::regex_match(s, re))
          << "pattern " << p << " text '" << s << "'";
    }
  }
}

TEST(RegexParser, AnchorsAndSearch) {
  Result<Grammar> full = regex_grammar("^ab$");
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(accepts(*full, "ab"));
  EXPECT_FALSE(accepts(*full, "xab"));
  Result<Grammar> search = regex_grammar("ab", RegexMatch::kSearch);
  ASSERT_TRUE(search.ok());
  EXPECT_TRUE(accepts(*search, "xxabyy"));
  EXPECT_FALSE(accepts(*search, "xxayy"));
  Result<Grammar> half = regex_grammar("^ab|cd$", RegexMatch::kSearch);
  ASSERT_TRUE(half.ok());
  EXPECT_TRUE(accepts(*half, "abzz"));
  EXPECT_FALSE(accepts(*half, "zab"));
  EXPECT_TRUE(accepts(*half, "zzcd"));
  EXPECT_FALSE(accepts(*half, "cdz"));
}

TEST(RegexParser, Unicode) {
  Result<Grammar> g = regex_grammar("[\xC3\xA0-\xC3\xBF]+\xE2\x82\xAC");  // [à-ÿ]+€
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(accepts(*g, "\xC3\xA9\xC3\xA0\xE2\x82\xAC"));
  EXPECT_FALSE(accepts(*g, "e\xE2\x82\xAC"));
}

TEST(RegexParser, UnsupportedFeaturesAreErrors) {
  for (const char* p : {"(a)\\1", "a(?=b)", "a(?!b)", "(?<=a)b", "\\bword", "(?i)abc", "a++", "a^b",
                        "a$b", "(a", "a)", "*a", "[abc", "a{3,1}", "\\q", "(?#x)"}) {
    Result<Expr> e = parse_regex(p);
    EXPECT_FALSE(e.ok()) << p;
    if (!e.ok()) {
      EXPECT_EQ(e.status().message().rfind("regex: ", 0), 0u) << e.status().message();
    }
  }
}

}  // namespace
}  // namespace pdserve::structured
