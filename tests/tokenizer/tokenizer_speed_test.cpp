// Complexity sanity checks (not a benchmark): 1 MB runs of one character make
// a single huge piece; BPE on it must stay O(n log n), so each encode has to
// finish well inside a generous bound.
#include <gtest/gtest.h>

#include <chrono>

#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {
namespace {

double seconds_to_encode(const Tokenizer& t, const std::string& text, size_t* num_ids) {
  const auto start = std::chrono::steady_clock::now();
  auto ids = t.encode(text);
  const auto end = std::chrono::steady_clock::now();
  EXPECT_TRUE(ids.ok()) << ids.status().to_string();
  *num_ids = ids.ok() ? ids->size() : 0;
  return std::chrono::duration<double>(end - start).count();
}

void check_linear(const std::string& path) {
  auto t = Tokenizer::from_file(path);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  for (char c : {'a', ' ', '\n', '1'}) {
    const std::string text(1 << 20, c);
    size_t num_ids = 0;
    const double s = seconds_to_encode(**t, text, &num_ids);
    EXPECT_LT(s, 10.0) << "1 MB of '" << c << "' took " << s << " s";
    EXPECT_GT(num_ids, 0u);
    auto back = (*t)->decode(*(*t)->encode(text, {.add_special_tokens = false}));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->size(), text.size());
  }
}

TEST(TokenizerSpeed, MegabyteRunsOfOneCharacterByteLevel) {
  check_linear(std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo/tokenizer.json");
}

TEST(TokenizerSpeed, MegabyteRunsOfOneCharacterSentencePiece) {
  // No pre-tokenizer: the whole megabyte is one BPE word.
  check_linear(std::string(PDSERVE_SOURCE_DIR) +
               "/tests/fixtures/tokenizers/llama2/tokenizer.json");
}

}  // namespace
}  // namespace pdserve::tokenizer
