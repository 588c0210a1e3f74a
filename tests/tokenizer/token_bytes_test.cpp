#include "tokenizer/token_bytes.h"

#include <gtest/gtest.h>

namespace pdserve::tokenizer {
namespace {

std::unique_ptr<Tokenizer> load(const std::string& name) {
  auto t = Tokenizer::from_file(std::string(PDSERVE_SOURCE_DIR) + "/tests/fixtures/tokenizers/" +
                                name + "/tokenizer.json");
  EXPECT_TRUE(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

// The bytes of the ids of an encoding join to the text, byte for byte.
TEST(TokenBytes, ByteLevelTokensJoinToTheText) {
  for (const char* name : {"demo", "llama3", "qwen2"}) {
    std::unique_ptr<Tokenizer> t = load(name);
    Result<std::vector<std::string>> bytes = token_bytes(*t);
    ASSERT_TRUE(bytes.ok()) << bytes.status().to_string();
    ASSERT_EQ(bytes->size(), static_cast<size_t>(t->vocab_size()));
    for (std::string text : {std::string("{\"name\": \"caf\xC3\xA9\", \"n\": [1, 2]}\n"),
                             std::string("  indented \xF0\x9F\x98\x80 emoji")}) {
      Result<std::vector<int32_t>> ids = t->encode(text);
      ASSERT_TRUE(ids.ok());
      std::string joined;
      for (int32_t id : *ids) joined += (*bytes)[static_cast<size_t>(id)];
      EXPECT_EQ(joined, text) << name;
    }
    for (int32_t id = 0; id < t->vocab_size(); ++id) {
      if (t->is_special(id)) {
        EXPECT_TRUE((*bytes)[static_cast<size_t>(id)].empty());
      }
    }
  }
}

TEST(TokenBytes, OtherDecodersAreAnError) {
  std::unique_ptr<Tokenizer> t = load("llama2");
  Result<std::vector<std::string>> bytes = token_bytes(*t);
  ASSERT_FALSE(bytes.ok());
  EXPECT_NE(bytes.status().message().find("only byte-level"), std::string::npos);
}

}  // namespace
}  // namespace pdserve::tokenizer
