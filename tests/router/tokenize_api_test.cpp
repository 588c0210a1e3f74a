#include "router/tokenize_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pdserve::router {
namespace {

using nlohmann::json;

TEST(TokenizeApiTest, PromptAndChat) {
  auto p = parse_tokenize_request(R"({"model":"m","prompt":"hi"})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->is_chat);
  EXPECT_EQ(p->prompt, "hi");
  EXPECT_TRUE(p->add_special_tokens);
  EXPECT_EQ(p->model, "m");

  auto c = parse_tokenize_request(R"({"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(c->is_chat);
  EXPECT_FALSE(c->add_special_tokens);
  EXPECT_FALSE(c->chat.add_generation_prompt);
  EXPECT_EQ(c->chat.num_messages, 1);

  auto s = parse_tokenize_request(R"({"prompt":"x","add_special_tokens":false})");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->add_special_tokens);
}

TEST(TokenizeApiTest, Errors) {
  auto e = parse_tokenize_request(R"({"model":"m"})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().param, "prompt");
  EXPECT_EQ(e.error().message, "'prompt' or 'messages' is required");
  e = parse_tokenize_request(R"({"prompt": 5})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, "'prompt' must be a string, got an integer");
  e = parse_tokenize_request(R"({"prompt": "x", "add_special_tokens": 1})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().param, "add_special_tokens");
  e = parse_tokenize_request(R"({"messages": []})");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().param, "messages");
  e = parse_tokenize_request("nope");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().http_status, 400);
}

TEST(TokenizeApiTest, Detokenize) {
  auto d = parse_detokenize_request(R"({"model":"m","tokens":[1,2]})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tokens, (std::vector<int32_t>{1, 2}));
  for (const char* bad :
       {R"({"tokens":[-1]})", R"({"tokens":["a"]})", R"({"tokens":{}})", R"({})"}) {
    auto r = parse_detokenize_request(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().param, "tokens") << bad;
  }
}

TEST(TokenizeApiTest, Responses) {
  json t = json::parse(tokenize_response({5, 6, 7}, 2048));
  EXPECT_EQ(t["tokens"], json::parse("[5,6,7]"));
  EXPECT_EQ(t["count"], 3);
  EXPECT_EQ(t["max_model_len"], 2048);
  json d = json::parse(detokenize_response("hello"));
  EXPECT_EQ(d, json::parse(R"({"prompt":"hello"})"));
}

}  // namespace
}  // namespace pdserve::router
