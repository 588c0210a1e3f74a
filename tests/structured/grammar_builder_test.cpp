#include "structured/grammar_builder.h"

#include <gtest/gtest.h>

#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

Grammar build_one(const Expr& body) {
  Result<Grammar> g = build_single_rule(body);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return std::move(g).value();
}

TEST(GrammarBuilder, LiteralsSequencesAlternatives) {
  Grammar g = build_one(
      Expr::alt({Expr::literal("cat"), Expr::seq({Expr::literal("do"), Expr::literal("g")})}));
  EXPECT_TRUE(accepts(g, "cat"));
  EXPECT_TRUE(accepts(g, "dog"));
  EXPECT_FALSE(accepts(g, "ca"));
  EXPECT_TRUE(is_viable_prefix(g, "ca"));
  EXPECT_FALSE(is_viable_prefix(g, "cow"));
  EXPECT_FALSE(accepts(g, "cats"));
}

TEST(GrammarBuilder, Repetitions) {
  Grammar g = build_one(Expr::seq({Expr::repeat(Expr::literal("ab"), 2, 3), Expr::literal(";")}));
  EXPECT_FALSE(accepts(g, "ab;"));
  EXPECT_TRUE(accepts(g, "abab;"));
  EXPECT_TRUE(accepts(g, "ababab;"));
  EXPECT_FALSE(accepts(g, "abababab;"));
  Grammar star = build_one(Expr::plus(Expr::char_class({{'0', '9'}})));
  EXPECT_TRUE(accepts(star, "0123456789012345678901234567890"));
  EXPECT_FALSE(accepts(star, ""));
  EXPECT_FALSE(accepts(star, "12a"));
}

TEST(GrammarBuilder, StarRunsInConstantStackDepth) {
  Grammar g = build_one(Expr::star(Expr::literal("x")));
  StackSet cur = initial_stacks(g);
  StackSet next;
  for (int i = 0; i < 1000; ++i) {
    advance_stacks(g, cur, 'x', &next);
    std::swap(cur, next);
  }
  for (const Stack& s : cur) EXPECT_LE(s.size(), 2u);
}

TEST(GrammarBuilder, UnicodeClassesAreUtf8) {
  Grammar g = build_one(Expr::plus(Expr::char_class({{0x80, kMaxCodepoint}})));
  EXPECT_TRUE(accepts(g, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(accepts(g, "e"));
  EXPECT_FALSE(is_viable_prefix(g, "\xED\xA0"));  // a surrogate's encoding
  EXPECT_FALSE(is_viable_prefix(g, "\xC0"));      // overlong lead byte
}

TEST(GrammarBuilder, RecursiveRules) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("root");
  // root ::= "(" root ")" | ""
  ASSERT_TRUE(
      b.define_rule(root,
                    Expr::alt({Expr::seq({Expr::literal("("), Expr::ref(root), Expr::literal(")")}),
                               Expr::empty()}))
          .ok());
  Result<Grammar> g = b.build(root);
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(accepts(*g, "((()))"));
  EXPECT_FALSE(accepts(*g, "(()"));
  EXPECT_FALSE(is_viable_prefix(*g, "())"));
}

TEST(GrammarBuilder, RejectsLeftRecursion) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("expr");
  ASSERT_TRUE(b.define_rule(root, Expr::alt({Expr::seq({Expr::ref(root), Expr::literal("+1")}),
                                             Expr::literal("1")}))
                  .ok());
  Result<Grammar> g = b.build(root);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("left-recursive"), std::string::npos);
}

TEST(GrammarBuilder, RejectsRulesThatNeverEnd) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("loop");
  ASSERT_TRUE(b.define_rule(root, Expr::seq({Expr::literal("a"), Expr::ref(root)})).ok());
  Result<Grammar> g = b.build(root);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("never ends"), std::string::npos);
}

TEST(GrammarBuilder, RejectsUndefinedAndTwiceDefinedRules) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("root");
  int32_t other = b.declare_rule("other");
  ASSERT_TRUE(b.define_rule(root, Expr::ref(other)).ok());
  EXPECT_FALSE(b.define_rule(root, Expr::literal("x")).ok());
  Result<Grammar> g = b.build(root);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("'other' is not defined"), std::string::npos);
  EXPECT_FALSE(b.define_rule(root + 7, Expr::literal("x")).ok());
}

TEST(GrammarBuilder, RejectsBadRepetitions) {
  GrammarBuilder b;
  int32_t root = b.declare_rule("root");
  EXPECT_FALSE(b.define_rule(root, Expr::repeat(Expr::literal("a"), 3, 2)).ok());
  GrammarBuilder b2;
  root = b2.declare_rule("root");
  EXPECT_FALSE(
      b2.define_rule(root, Expr::repeat(Expr::literal("a"), 0, GrammarBuilder::kMaxRepeat + 1))
          .ok());
  GrammarBuilder b3;
  root = b3.declare_rule("root");
  EXPECT_FALSE(b3.define_rule(root, Expr::char_class({})).ok());
}

TEST(GrammarBuilder, ToStringShowsRules) {
  Grammar g = build_one(Expr::seq({Expr::literal("a"), Expr::optional(Expr::literal("b"))}));
  std::string text = g.to_string();
  EXPECT_NE(text.find("root ::= [a]"), std::string::npos) << text;
}

}  // namespace
}  // namespace pdserve::structured
