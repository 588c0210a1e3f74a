#include "router/openai_response.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace pdserve::router {
namespace {

using nlohmann::json;

json chunk_json(const ResponseMeta& m, const CompletionChoice& c) {
  std::string text;
  completion_chunk(c, chunk_tail(m, Endpoint::kCompletions), &text);
  return json::parse(text);
}

json chunk_json(const ResponseMeta& m, const ChatChoice& c) {
  std::string text;
  chat_chunk(c, chunk_tail(m, Endpoint::kChatCompletions), &text);
  return json::parse(text);
}

ResponseMeta meta() {
  return {"cmpl-1", 1700000000, "m", false};
}

std::vector<TokenLogprobInfo> two_tokens() {
  return {{"He", -0.5f, {{"He", -0.5f}, {"She", -1.5f}}},
          {"llo", -std::numeric_limits<float>::infinity(), {}}};
}

TEST(CompletionResponseTest, Shape) {
  std::vector<CompletionChoice> cs(2);
  cs[0] = {0, "Hello", two_tokens(), 0, "stop", {"###", std::nullopt}};
  cs[1] = {1, "x", std::nullopt, 0, "length", {}};
  json j = json::parse(completion_response(meta(), cs, {3, 4, -1}));
  EXPECT_EQ(j["id"], "cmpl-1");
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["created"], 1700000000);
  EXPECT_EQ(j["model"], "m");
  ASSERT_EQ(j["choices"].size(), 2u);
  const json& c0 = j["choices"][0];
  EXPECT_EQ(c0["index"], 0);
  EXPECT_EQ(c0["text"], "Hello");
  EXPECT_EQ(c0["finish_reason"], "stop");
  EXPECT_EQ(c0["stop_reason"], "###");
  EXPECT_TRUE(j["choices"][1]["stop_reason"].is_null());
  EXPECT_EQ(c0["logprobs"]["tokens"], json::parse(R"(["He","llo"])"));
  EXPECT_EQ(c0["logprobs"]["token_logprobs"][0], -0.5);
  EXPECT_EQ(c0["logprobs"]["token_logprobs"][1], -9999.0);
  EXPECT_EQ(c0["logprobs"]["top_logprobs"][0], json::parse(R"({"He":-0.5,"She":-1.5})"));
  EXPECT_EQ(c0["logprobs"]["top_logprobs"][1], json::object());
  EXPECT_EQ(c0["logprobs"]["text_offset"], json::parse("[0,2]"));
  EXPECT_EQ(j["choices"][1]["index"], 1);
  EXPECT_TRUE(j["choices"][1]["logprobs"].is_null());
  EXPECT_EQ(j["choices"][1]["finish_reason"], "length");
  EXPECT_EQ(j["usage"],
            json::parse(R"({"prompt_tokens":3,"completion_tokens":4,"total_tokens":7})"));
  EXPECT_FALSE(j.contains("usage") && j["usage"].contains("prompt_tokens_details"));
}

TEST(CompletionResponseTest, AbortIsNeverShown) {
  EXPECT_EQ(client_finish_reason("stop"), "stop");
  EXPECT_EQ(client_finish_reason("length"), "length");
  EXPECT_FALSE(client_finish_reason("abort").has_value());
  EXPECT_FALSE(client_finish_reason("").has_value());
  CompletionChoice c{0, "x", std::nullopt, 0, "abort", {}};
  json j = chunk_json(meta(), c);
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
}

TEST(CompletionResponseTest, ChunksAndUsage) {
  ResponseMeta m = meta();
  m.include_usage = true;
  CompletionChoice c{2, "lo", std::vector<TokenLogprobInfo>{{"lo", -0.1f, {}}}, 5, "", {}};
  json j = chunk_json(m, c);
  EXPECT_EQ(j["object"], "text_completion");
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["index"], 2);
  EXPECT_EQ(j["choices"][0]["text"], "lo");
  EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
  EXPECT_EQ(j["choices"][0]["logprobs"]["text_offset"], json::parse("[5]"));
  EXPECT_TRUE(j.contains("usage") && j["usage"].is_null());
  json u = json::parse(usage_chunk(m, Endpoint::kCompletions, {2, 3, 1}));
  EXPECT_EQ(u["object"], "text_completion");
  EXPECT_EQ(u["choices"], json::array());
  EXPECT_EQ(u["usage"]["total_tokens"], 5);
  EXPECT_EQ(u["usage"]["prompt_tokens_details"]["cached_tokens"], 1);
  json plain = chunk_json(meta(), c);
  EXPECT_FALSE(plain.contains("usage"));
}

TEST(ChatResponseTest, Shape) {
  std::vector<ChatChoice> cs(1);
  cs[0].content = "Hello";
  cs[0].logprobs = two_tokens();
  cs[0].finish_reason = "length";
  ResponseMeta m{"chatcmpl-9", 5, "m", false};
  json j = json::parse(chat_response(m, cs, {1, 2, -1}));
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["id"], "chatcmpl-9");
  const json& c = j["choices"][0];
  EXPECT_EQ(c["index"], 0);
  EXPECT_EQ(c["message"], json::parse(R"({"role":"assistant","content":"Hello"})"));
  EXPECT_EQ(c["finish_reason"], "length");
  const json& lp = c["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 2u);
  EXPECT_EQ(lp[0]["token"], "He");
  EXPECT_EQ(lp[0]["logprob"], -0.5);
  EXPECT_EQ(lp[0]["bytes"], json::parse("[72,101]"));
  ASSERT_EQ(lp[0]["top_logprobs"].size(), 2u);
  EXPECT_EQ(lp[0]["top_logprobs"][1],
            json::parse(R"({"token":"She","logprob":-1.5,"bytes":[83,104,101]})"));
  EXPECT_EQ(lp[1]["logprob"], -9999.0);
  EXPECT_EQ(lp[1]["top_logprobs"], json::array());
  EXPECT_EQ(j["usage"]["total_tokens"], 3);
}

TEST(ChatResponseTest, InvalidUtf8TokenKeepsBytes) {
  std::vector<ChatChoice> cs(1);
  cs[0].content = "\xe2\x82";
  cs[0].logprobs = std::vector<TokenLogprobInfo>{{"\xe2\x82", -1.0f, {}}};
  cs[0].finish_reason = "stop";
  json j = json::parse(chat_response(meta(), cs, {}));
  EXPECT_EQ(j["choices"][0]["logprobs"]["content"][0]["bytes"], json::parse("[226,130]"));
  EXPECT_EQ(j["choices"][0]["message"]["content"], "\xef\xbf\xbd");
}

TEST(ChatResponseTest, StreamChunks) {
  ResponseMeta m{"chatcmpl-1", 5, "m", true};
  ChatChoice first;
  first.index = 1;
  first.role_chunk = true;
  json a = chunk_json(m, first);
  EXPECT_EQ(a["object"], "chat.completion.chunk");
  EXPECT_EQ(a["choices"][0]["index"], 1);
  EXPECT_EQ(a["choices"][0]["delta"], json::parse(R"({"role":"assistant","content":""})"));
  EXPECT_TRUE(a["choices"][0]["logprobs"].is_null());
  EXPECT_TRUE(a["choices"][0]["finish_reason"].is_null());
  EXPECT_TRUE(a["usage"].is_null());

  ChatChoice mid;
  mid.content = "Hi";
  mid.logprobs = std::vector<TokenLogprobInfo>{{"Hi", -0.25f, {{"Hi", -0.25f}}}};
  json b = chunk_json(m, mid);
  EXPECT_EQ(b["choices"][0]["delta"], json::parse(R"({"content":"Hi"})"));
  EXPECT_EQ(b["choices"][0]["logprobs"]["content"][0]["token"], "Hi");

  ChatChoice last;
  last.finish_reason = "stop";
  last.stop_reason.stop_token_id = 7;
  json c = chunk_json(m, last);
  EXPECT_EQ(c["choices"][0]["stop_reason"], 7);
  EXPECT_EQ(c["choices"][0]["delta"], json::object());
  EXPECT_EQ(c["choices"][0]["finish_reason"], "stop");

  json u = json::parse(usage_chunk(m, Endpoint::kChatCompletions, {4, 5, -1}));
  EXPECT_EQ(u["object"], "chat.completion.chunk");
  EXPECT_EQ(u["choices"], json::array());
  EXPECT_EQ(u["usage"],
            json::parse(R"({"prompt_tokens":4,"completion_tokens":5,"total_tokens":9})"));
}

TEST(ModelsResponseTest, Shape) {
  json j = json::parse(models_response({{"llama", 7, 4096}}));
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0], json::parse(R"({"id":"llama","object":"model","created":7,
      "owned_by":"pdserve","root":"llama","parent":null,"max_model_len":4096})"));
}

TEST(ModelsResponseTest, OneModelIsTheListEntry) {
  const ModelCard card{"org/llama", 7, 4096};
  EXPECT_EQ(json::parse(model_response(card)), json::parse(models_response({card}))["data"][0]);
  EXPECT_EQ(json::parse(model_response(card))["id"], "org/llama");
}

}  // namespace
}  // namespace pdserve::router
