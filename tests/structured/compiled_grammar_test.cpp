// CompiledGrammar shared by matchers on several threads, as the runner's
// MaskWorker threads share it: its classification of stack suffixes is
// filled lazily by whichever thread meets a suffix first (compiled_grammar.h
// says it is thread-safe). Threads that start together on a cold grammar,
// each walking its own path, see at every step the mask a grammar used by
// one thread alone gives, and the grammar ends with the same suffixes
// classified. (Built with -fsanitize=thread this also checks the locking;
// docs/PERFORMANCE.md "Constrained decoding" says how it was run.)
#include <gtest/gtest.h>

#include <latch>
#include <random>
#include <thread>

#include "structured/grammar_compiler.h"
#include "structured/grammar_matcher.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

constexpr int kThreads = 8, kSteps = 40;

struct Walk {
  std::vector<int32_t> tokens;
  std::vector<std::vector<uint64_t>> masks;  // before each token
};

// A walk of random allowed tokens (seeded), with the mask of each step.
Walk walk(const std::shared_ptr<const CompiledGrammar>& g, unsigned seed) {
  std::mt19937 rng(seed);
  GrammarMatcher m(g);
  TokenBitmask mask;
  Walk w;
  for (int s = 0; s < kSteps && !m.is_terminated(); ++s) {
    m.fill_next_token_mask(&mask);
    std::vector<int32_t> allowed;
    for (int32_t id = 0; id < mask.num_tokens(); ++id)
      if (mask.test(id)) allowed.push_back(id);
    if (allowed.empty()) break;
    const int32_t pick = allowed[rng() % allowed.size()];
    if (!m.accept_token(pick).ok()) break;
    w.masks.push_back(mask.words());
    w.tokens.push_back(pick);
  }
  return w;
}

// The masks of `tokens` replayed on g.
std::vector<std::vector<uint64_t>> replay(const std::shared_ptr<const CompiledGrammar>& g,
                                          const std::vector<int32_t>& tokens) {
  GrammarMatcher m(g);
  TokenBitmask mask;
  std::vector<std::vector<uint64_t>> masks;
  for (int32_t t : tokens) {
    m.fill_next_token_mask(&mask);
    masks.push_back(mask.words());
    if (!m.accept_token(t).ok()) break;
  }
  return masks;
}

TEST(CompiledGrammar, MatchersOnManyThreadsSeeTheMasksOfOne) {
  const Constraint constraints[] = {
      {Constraint::Kind::kJsonObject, "", {}},
      {Constraint::Kind::kJsonSchema,
       R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},
           "age":{"type":"integer","minimum":0,"maximum":120},
           "tags":{"type":"array","items":{"enum":["a","ab","ba"]}}},"required":["name","age"]})",
       {}}};
  for (const Constraint& c : constraints) {
    GrammarCompiler alone(test_vocabulary());
    const std::shared_ptr<const CompiledGrammar> reference = *alone.compile(c);
    std::vector<Walk> walks;
    for (int t = 0; t < kThreads; ++t) walks.push_back(walk(reference, 100u + t));
    for (int round = 0; round < 4; ++round) {
      GrammarCompiler shared(test_vocabulary());  // cold: nothing classified yet
      const std::shared_ptr<const CompiledGrammar> g = *shared.compile(c);
      std::vector<std::vector<std::vector<uint64_t>>> seen(kThreads);
      std::latch go(kThreads);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          go.arrive_and_wait();
          seen[static_cast<size_t>(t)] = replay(g, walks[static_cast<size_t>(t)].tokens);
        });
      }
      for (std::thread& th : threads) th.join();
      for (int t = 0; t < kThreads; ++t)
        EXPECT_EQ(seen[static_cast<size_t>(t)], walks[static_cast<size_t>(t)].masks)
            << "thread " << t << ", round " << round;
      EXPECT_EQ(g->num_cached_contexts(), reference->num_cached_contexts());
    }
  }
}

}  // namespace
}  // namespace pdserve::structured
