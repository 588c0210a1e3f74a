#include "structured/grammar_matcher.h"

#include <gtest/gtest.h>

#include <random>

#include "structured/grammar_compiler.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

int32_t token_id(const Vocabulary& vocab, std::string_view bytes) {
  for (int32_t id = 0; id < vocab.size(); ++id) {
    if (vocab.bytes(id) == bytes && !vocab.is_stop(id)) return id;
  }
  return -1;
}

std::shared_ptr<const CompiledGrammar> compile(GrammarCompiler& compiler, Constraint c) {
  Result<std::shared_ptr<const CompiledGrammar>> g = compiler.compile(c);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return *g;
}

// Walks random allowed tokens; at every step the mask equals the slow mask.
void check_random_walks(const std::shared_ptr<const CompiledGrammar>& g, int walks, int steps) {
  std::mt19937 rng(11);
  const Vocabulary& vocab = g->vocabulary();
  for (int w = 0; w < walks; ++w) {
    GrammarMatcher m(g);
    StackSet stacks = initial_stacks(g->grammar());
    TokenBitmask mask;
    for (int s = 0; s < steps && !m.is_terminated(); ++s) {
      m.fill_next_token_mask(&mask);
      std::vector<bool> slow = brute_force_mask(g->grammar(), vocab, stacks);
      std::vector<int32_t> allowed;
      for (int32_t id = 0; id < vocab.size(); ++id) {
        ASSERT_EQ(mask.test(id), slow[static_cast<size_t>(id)]) << "token " << id << " step " << s;
        if (mask.test(id)) allowed.push_back(id);
      }
      ASSERT_FALSE(allowed.empty()) << "dead end at step " << s;
      int32_t pick = allowed[rng() % allowed.size()];
      ASSERT_TRUE(m.accept_token(pick).ok());
      if (!vocab.is_stop(pick)) {
        StackSet next;
        ASSERT_TRUE(advance_bytes(g->grammar(), stacks, vocab.bytes(pick), &next));
        stacks = std::move(next);
      }
    }
  }
}

TEST(GrammarMatcher, MaskMatchesBruteForceOnJson) {
  GrammarCompiler compiler(test_vocabulary());
  check_random_walks(compile(compiler, {Constraint::Kind::kJsonObject, "", {}}), 20, 60);
  check_random_walks(compile(compiler, {Constraint::Kind::kJsonSchema,
                                        R"({"type":"object","properties":{"name":{"type":"string"},
                             "age":{"type":"integer","minimum":0,"maximum":120}},
                             "required":["name"]})",
                                        {}}),
                     20, 60);
}

TEST(GrammarMatcher, MaskMatchesBruteForceOnRegexChoiceGrammar) {
  GrammarCompiler compiler(test_vocabulary());
  check_random_walks(compile(compiler, {Constraint::Kind::kRegex, "(ab|ba)+c?[0-9]{2,4}", {}}), 20,
                     30);
  check_random_walks(compile(compiler, {Constraint::Kind::kChoice, "", {"aa", "aaa", "abc"}}), 10,
                     10);
  check_random_walks(
      compile(compiler,
              {Constraint::Kind::kGrammar,
               "root ::= item (\", \" item)*\nitem ::= \"name\" | [0-9]+ | \"(\" root \")\"",
               {}}),
      20, 40);
}

TEST(GrammarMatcher, StopOnlyWhenComplete) {
  GrammarCompiler compiler(test_vocabulary());
  auto g = compile(compiler, {Constraint::Kind::kChoice, "", {"true", "tr"}});
  const Vocabulary& vocab = g->vocabulary();
  int32_t stop = vocab.stop_token_ids()[0];
  GrammarMatcher m(g);
  EXPECT_FALSE(m.accept_token(stop).ok());
  ASSERT_TRUE(m.accept_token(token_id(vocab, "t")).ok());
  EXPECT_FALSE(m.is_complete());
  ASSERT_TRUE(m.accept_token(token_id(vocab, "r")).ok());
  EXPECT_TRUE(m.is_complete());
  TokenBitmask mask;
  m.fill_next_token_mask(&mask);
  EXPECT_TRUE(mask.test(stop));
  EXPECT_TRUE(mask.test(token_id(vocab, "u")));
  EXPECT_EQ(mask.count(), 2);
  ASSERT_TRUE(m.accept_token(stop).ok());
  EXPECT_TRUE(m.is_terminated());
  m.fill_next_token_mask(&mask);
  EXPECT_EQ(mask.count(), 0);
  EXPECT_EQ(m.accept_token(token_id(vocab, "u")).code(), StatusCode::kFailedPrecondition);
}

TEST(GrammarMatcher, RejectsTokensThatDoNotFitAndChangesNothing) {
  GrammarCompiler compiler(test_vocabulary());
  auto g = compile(compiler, {Constraint::Kind::kRegex, "[0-9]+", {}});
  const Vocabulary& vocab = g->vocabulary();
  GrammarMatcher m(g);
  ASSERT_TRUE(m.accept_token(token_id(vocab, "12")).ok());
  EXPECT_FALSE(m.accept_token(token_id(vocab, "abc")).ok());
  EXPECT_FALSE(m.accept_token(0).ok());  // the special token with no bytes
  EXPECT_FALSE(m.accept_token(-1).ok());
  EXPECT_FALSE(m.accept_token(vocab.size()).ok());
  EXPECT_EQ(m.num_accepted_tokens(), 1);
  EXPECT_TRUE(m.accept_token(token_id(vocab, "345")).ok());
}

TEST(GrammarMatcher, RollbackRestoresEarlierStates) {
  GrammarCompiler compiler(test_vocabulary());
  auto g = compile(compiler, {Constraint::Kind::kChoice, "", {"name", "null"}});
  const Vocabulary& vocab = g->vocabulary();
  GrammarMatcher m(g);
  TokenBitmask before;
  m.fill_next_token_mask(&before);
  ASSERT_TRUE(m.accept_token(token_id(vocab, "n")).ok());
  ASSERT_TRUE(m.accept_token(token_id(vocab, "u")).ok());
  ASSERT_TRUE(m.accept_token(token_id(vocab, "l")).ok());
  ASSERT_TRUE(m.accept_token(token_id(vocab, "l")).ok());
  ASSERT_TRUE(m.accept_token(vocab.stop_token_ids()[0]).ok());
  ASSERT_TRUE(m.rollback(4).ok());  // speculative "ull" + stop rejected
  EXPECT_FALSE(m.is_terminated());
  EXPECT_EQ(m.num_accepted_tokens(), 1);
  ASSERT_TRUE(m.accept_token(token_id(vocab, "a")).ok());
  EXPECT_FALSE(m.rollback(3).ok());
  ASSERT_TRUE(m.rollback(2).ok());
  TokenBitmask after;
  m.fill_next_token_mask(&after);
  EXPECT_EQ(before.words(), after.words());
}

TEST(GrammarMatcher, BoundsTheLiveParsesOfAmbiguousGrammars) {
  GrammarCompiler compiler(test_vocabulary());
  auto g = compile(
      compiler,
      {Constraint::Kind::kGrammar, "root ::= \"(\" root \")\" | \"(\" root \"]\" | \"x\"", {}});
  GrammarMatcher m(g);
  int32_t open = token_id(g->vocabulary(), "(");
  Status last;
  int accepted = 0;
  for (; accepted < 20; ++accepted) {
    last = m.accept_token(open);
    if (!last.ok()) break;
  }
  // After n "(": 2^n ways to close them times 3 alternatives next; n = 11
  // would make 6144 > 4096.
  EXPECT_EQ(accepted, 10);
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(m.num_accepted_tokens(), 10);
  EXPECT_TRUE(m.accept_token(token_id(g->vocabulary(), "x")).ok());  // still usable
}

TEST(GrammarCompiler, CachesByConstraintAndReportsErrors) {
  GrammarCompiler compiler(test_vocabulary(), 2);
  Constraint a{Constraint::Kind::kRegex, "a+", {}};
  auto g1 = compile(compiler, a);
  auto g2 = compile(compiler, a);
  EXPECT_EQ(g1.get(), g2.get());
  compile(compiler, {Constraint::Kind::kRegex, "b+", {}});
  compile(compiler, {Constraint::Kind::kRegex, "c+", {}});
  EXPECT_EQ(compiler.num_cached(), 2u);
  EXPECT_NE(compile(compiler, a).get(), g1.get());  // evicted, compiled again
  Result<std::shared_ptr<const CompiledGrammar>> bad =
      compiler.compile({Constraint::Kind::kRegex, "(a", {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(compiler.compile({Constraint::Kind::kChoice, "", {}}).ok());
  EXPECT_FALSE(compiler.compile({Constraint::Kind::kGrammar, "root ::= (", {}}).ok());
  EXPECT_FALSE(
      compiler.compile({Constraint::Kind::kRegex, std::string(kMaxConstraintBytes + 1, 'a'), {}})
          .ok());
}

TEST(Vocabulary, RejectsBadInput) {
  EXPECT_FALSE(Vocabulary::create({}, {}).ok());
  EXPECT_FALSE(Vocabulary::create({"a"}, {1}).ok());
  Result<std::shared_ptr<const Vocabulary>> v = Vocabulary::create({"b", "a", "ab", ""}, {3});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)->sorted_ids(), (std::vector<int32_t>{1, 2, 0}));
  EXPECT_EQ((*v)->shared_prefix_len(), (std::vector<int32_t>{0, 1, 0}));
}

}  // namespace
}  // namespace pdserve::structured
