// The streaming chunks are written as text, not built as json values: they
// must be byte for byte what nlohmann's dump would write for the same value
// (dump(parse(chunk)) == chunk: sorted keys, escapes, U+FFFD replacement).
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "router/openai_response.h"

namespace pdserve::router {
namespace {

using nlohmann::json;

std::string canonical(const std::string& text) {
  return json::parse(text).dump(-1, ' ', false, json::error_handler_t::replace);
}

const std::vector<std::string> kTexts = {
    "",
    "plain text",
    " leading space",
    "quote \" and \\ backslash",
    "\n\t\r\b\f",
    std::string("nul \0 and \x01\x1f\x7f", 17),
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "cut \xe2\x82",
    "bad \xff\xfe lead",
    "surrogate \xed\xa0\x80",
};

std::vector<TokenLogprobInfo> logprobs_of(const std::string& text) {
  // Top entries out of key order, one twice (the first wins), one -inf.
  return {
      {text,
       -0.25f,
       {{"x", -0.5f}, {text, -0.25f}, {"a", -std::numeric_limits<float>::infinity()}, {"x", -3}}},
      {"y", -1e-7f, {}}};
}

ResponseMeta meta(bool include_usage) {
  return {"cmpl-\"id\"", 1733500000, "model/\xc3\xa9", include_usage};
}

TEST(StreamChunkTest, CompletionChunkIsNlohmannsDump) {
  std::string chunk = "left over from before";  // reused: each chunk replaces the last
  for (const std::string& text : kTexts)
    for (bool usage : {false, true})
      for (int variant = 0; variant < 4; ++variant) {
        CompletionChoice c;
        c.index = variant;
        c.text = text;
        if (variant == 1) c.logprobs = logprobs_of(text);
        if (variant == 2) {
          c.finish_reason = "stop";
          c.stop_reason.stop_string = text.empty() ? "###" : text;
        }
        if (variant == 3) {
          c.finish_reason = "length";
          c.stop_reason.stop_token_id = 7;
          c.text_offset = 12;
          c.logprobs = std::vector<TokenLogprobInfo>{};
        }
        completion_chunk(c, chunk_tail(meta(usage), Endpoint::kCompletions), &chunk);
        EXPECT_EQ(chunk, canonical(chunk)) << chunk;
        const json j = json::parse(chunk);
        EXPECT_EQ(j["object"], "text_completion");
        EXPECT_EQ(j.contains("usage"), usage);
        EXPECT_EQ(j["choices"][0]["index"], variant);
        if (text == "plain text") {
          EXPECT_EQ(j["choices"][0]["text"], text);
        }
      }
}

TEST(StreamChunkTest, ChatChunkIsNlohmannsDump) {
  std::string chunk = "left over from before";
  for (const std::string& text : kTexts)
    for (int variant = 0; variant < 4; ++variant) {
      ChatChoice c;
      c.index = variant;
      c.content = text;
      c.role_chunk = variant == 0;
      if (variant == 1) c.logprobs = logprobs_of(text);
      if (variant == 2) {
        c.finish_reason = "stop";
        c.stop_reason.stop_string = "\n\n";
      }
      if (variant == 3) c.finish_reason = "abort";  // shown as null
      chat_chunk(c, chunk_tail(meta(variant % 2 == 0), Endpoint::kChatCompletions), &chunk);
      EXPECT_EQ(chunk, canonical(chunk)) << chunk;
      const json j = json::parse(chunk);
      EXPECT_EQ(j["object"], "chat.completion.chunk");
      const json& delta = j["choices"][0]["delta"];
      EXPECT_EQ(delta.contains("role"), variant == 0);
      EXPECT_EQ(delta.contains("content"), variant == 0 || !text.empty());
      if (variant == 3) {
        EXPECT_TRUE(j["choices"][0]["finish_reason"].is_null());
      }
    }
}

TEST(StreamChunkTest, ChatChunkWithToolCallsIsNlohmannsDump) {
  std::string chunk = "left over from before";
  for (const std::string& text : kTexts)
    for (bool with_content : {false, true}) {
      ChatChoice c;
      c.index = 1;
      if (with_content) c.content = "before the call";
      c.tool_calls = {{0, {"call_0", "get_\"weather\"", "{\"city\": \"" + text + "\"}"}},
                      {1, {"", "", text}}};
      c.finish_reason = "tool_calls";
      chat_chunk(c, chunk_tail(meta(false), Endpoint::kChatCompletions), &chunk);
      EXPECT_EQ(chunk, canonical(chunk)) << chunk;
      const json j = json::parse(chunk);
      const json& calls = j["choices"][0]["delta"]["tool_calls"];
      ASSERT_EQ(calls.size(), 2u) << chunk;
      EXPECT_EQ(calls[0]["index"], 0);
      EXPECT_EQ(calls[0]["type"], "function");
      EXPECT_EQ(calls[0]["id"], "call_0");
      EXPECT_EQ(j["choices"][0]["delta"].contains("content"), with_content);
      EXPECT_EQ(j["choices"][0]["finish_reason"], "tool_calls");
    }
}

TEST(StreamChunkTest, UsageChunkIsNlohmannsDump) {
  for (Endpoint endpoint : {Endpoint::kCompletions, Endpoint::kChatCompletions})
    for (int cached : {-1, 0, 7}) {
      const std::string chunk = usage_chunk(meta(true), endpoint, {11, 2147483, cached});
      EXPECT_EQ(chunk, canonical(chunk)) << chunk;
      const json j = json::parse(chunk);
      EXPECT_EQ(j["choices"], json::array());
      EXPECT_EQ(j["usage"]["total_tokens"], 11 + 2147483);
      EXPECT_EQ(j["usage"].contains("prompt_tokens_details"), cached >= 0);
      EXPECT_EQ(j["object"],
                endpoint == Endpoint::kCompletions ? "text_completion" : "chat.completion.chunk");
    }
}

}  // namespace
}  // namespace pdserve::router
