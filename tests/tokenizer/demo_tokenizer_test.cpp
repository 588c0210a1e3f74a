// The demo model's tokenizer (models/pdserve-demo/tokenizer.json): byte-level
// BPE with 4096 tokens and chat special tokens. Loads and round-trips text.
#include <gtest/gtest.h>

#include <thread>

#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {
namespace {

const std::string kPath = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo/tokenizer.json";

TEST(DemoTokenizer, LoadsWithItsSpecialTokens) {
  auto t = Tokenizer::from_file(kPath);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  EXPECT_EQ((*t)->vocab_size(), 4096);
  EXPECT_EQ((*t)->token_to_id("<|endoftext|>"), 0);
  EXPECT_EQ((*t)->token_to_id("<|user|>"), 1);
  EXPECT_EQ((*t)->token_to_id("<|assistant|>"), 2);
  EXPECT_TRUE((*t)->is_special(0));
  EXPECT_EQ((*t)->id_to_token(0), "<|endoftext|>");
}

TEST(DemoTokenizer, RoundTripsText) {
  auto t = Tokenizer::from_file(kPath);
  ASSERT_TRUE(t.ok());
  for (const std::string text :
       {"The quick brown fox jumps over the lazy dog.", "  two spaces\tand a tab\n\nnewlines",
        "café naïve Zürich", "中文 日本語 한국어",
        "emoji 😀 👨‍👩‍👧‍👦 🏳️‍🌈", "1234567890 3.14",
        "def f(x):\n    return x * 2\n", ""}) {
    auto ids = (*t)->encode(text);
    ASSERT_TRUE(ids.ok());
    auto back = (*t)->decode(*ids);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, text);
  }
}

TEST(DemoTokenizer, SpecialTokenStringsInText) {
  auto t = Tokenizer::from_file(kPath);
  ASSERT_TRUE(t.ok());
  const std::string text = "<|user|>hi<|end|><|assistant|>";
  auto ids = (*t)->encode(text);
  ASSERT_TRUE(ids.ok());
  ASSERT_GE(ids->size(), 4u);
  EXPECT_EQ(ids->front(), 1);
  EXPECT_EQ(ids->back(), 2);
  EXPECT_EQ(*(*t)->decode(*ids), text);
  EXPECT_EQ(*(*t)->decode(*ids, true), "hi");
  // Untrusted user text: the same strings are plain text, never special ids.
  auto plain = (*t)->encode(text, {.split_special_tokens = true});
  ASSERT_TRUE(plain.ok());
  for (int32_t id : *plain) EXPECT_FALSE((*t)->is_special(id)) << id;
  EXPECT_EQ(*(*t)->decode(*plain), text);
}

TEST(DemoTokenizer, ConcurrentEncodesAgree) {
  auto t = Tokenizer::from_file(kPath);
  ASSERT_TRUE(t.ok());
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i) {
    texts.push_back("request " + std::to_string(i * 7919) + " héllo wörld 中文 " +
                    std::string(static_cast<size_t>(i), 'x') + " <|user|>");
  }
  std::vector<std::vector<int32_t>> want;
  for (const auto& s : texts) want.push_back(*(*t)->encode(s));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < texts.size(); ++i) {
          auto ids = (*t)->encode(texts[(i + static_cast<size_t>(k)) % texts.size()]);
          if (!ids.ok() || *ids != want[(i + static_cast<size_t>(k)) % texts.size()]) {
            ++mismatches[static_cast<size_t>(k)];
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace pdserve::tokenizer
