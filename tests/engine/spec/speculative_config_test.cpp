#include "engine/spec/speculative_config.h"

#include <gtest/gtest.h>

namespace pdserve::spec {
namespace {

const std::string kDraft = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo-draft";

TEST(SpeculativeConfigTest, ParsesVllmStyle) {
  auto c = parse_speculative_config(
      R"({"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 5, "prompt_lookup_min": 2})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->method, SpecMethod::kNgram);
  EXPECT_EQ(c->num_speculative_tokens, 3);
  EXPECT_EQ(c->prompt_lookup_max, 5);
  EXPECT_EQ(c->prompt_lookup_min, 2);
  c = parse_speculative_config(R"({"method": "draft_model", "model": ")" + kDraft +
                               R"(", "num_speculative_tokens": 4, "disable_by_batch_size": 8})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->method, SpecMethod::kDraftModel);
  EXPECT_EQ(c->model, kDraft);
  EXPECT_EQ(c->disable_by_batch_size, 8);
}

TEST(SpeculativeConfigTest, OneLineErrors) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"nope", "not a JSON object"},
      {R"({"num_speculative_tokens": 4})", "\"method\""},
      {R"({"method": "eagle"})", "\"eagle\""},
      {R"({"method": "ngram", "num_speculative_tokens": 0})", "num_speculative_tokens"},
      {R"({"method": "ngram", "num_speculative_tokens": 99})", "num_speculative_tokens"},
      {R"({"method": "ngram", "num_speculative_tokens": "4"})", "num_speculative_tokens"},
      {R"({"method": "ngram", "prompt_lookup_min": 5, "prompt_lookup_max": 2})",
       "prompt_lookup_min"},
      {R"({"method": "ngram", "typo": 1})", "unknown key \"typo\""},
      {R"({"method": "draft_model"})", "\"model\""},
      {R"({"method": "draft_model", "model": "/no/such/dir"})", "/no/such/dir does not exist"},
  };
  for (const auto& [json, expected] : bad) {
    auto c = parse_speculative_config(json);
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(expected), std::string::npos)
        << json << " -> " << c.status().message();
    EXPECT_EQ(c.status().message().find('\n'), std::string::npos) << c.status().message();
  }
}

}  // namespace
}  // namespace pdserve::spec
