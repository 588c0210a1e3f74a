// A chat choice's output read back as tool calls, for each tool_choice, and
// the OpenAI shapes they are answered in.
#include "router/tool_output.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "router/openai_response.h"

namespace pdserve::router {
namespace {

const ToolCallOptions kHermes{"hermes", true};

// Feeds `text` in chunks of `chunk` bytes; the finish reason the choice ends with.
ParsedOutput run(ToolOutput& out, std::string_view text, size_t chunk, std::string* reason) {
  ParsedOutput all;
  for (size_t i = 0; i <= text.size(); i += chunk) {
    const bool last = i + chunk > text.size();
    StreamDelta d = out.take(text.substr(i, std::min(chunk, text.size() - i)), last, reason);
    all.content += d.content;
    for (ToolCallDelta& c : d.tool_calls) {
      EXPECT_EQ(c.index, static_cast<int32_t>(all.tool_calls.size()));
      all.tool_calls.push_back(std::move(c.call));
    }
    if (last) break;
  }
  return all;
}

TEST(ToolOutputTest, AutoNeedsBothFlagsAndAKnownParser) {
  const ToolUse autou{ToolUse::Mode::kAuto, ""};
  EXPECT_FALSE(check_tool_use(autou, kHermes));
  for (const ToolCallOptions& o : {ToolCallOptions{"hermes", false}, ToolCallOptions{"", true},
                                   ToolCallOptions{"nope", true}}) {
    auto e = check_tool_use(autou, o);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->http_status, 400);
    EXPECT_EQ(e->param, "tool_choice");
    EXPECT_EQ(ToolOutput::create(autou, o), nullptr);
  }
  EXPECT_FALSE(check_tool_use({ToolUse::Mode::kRequired, ""}, {}));
  EXPECT_EQ(ToolOutput::create({ToolUse::Mode::kNone, ""}, kHermes), nullptr);
}

TEST(ToolOutputTest, AutoParsesCallsAsTheyStream) {
  const std::string text =
      "Let me look.<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}"
      "</tool_call>";
  for (size_t chunk : {1u, 5u, 1000u}) {
    auto out = ToolOutput::create({ToolUse::Mode::kAuto, ""}, kHermes);
    std::string reason = "stop";
    ParsedOutput p = run(*out, text, chunk, &reason);
    EXPECT_EQ(p.content, "Let me look.");
    ASSERT_EQ(p.tool_calls.size(), 1u);
    EXPECT_EQ(p.tool_calls[0].name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(p.tool_calls[0].arguments)["city"], "Oslo");
    EXPECT_EQ(p.tool_calls[0].id.rfind("call_", 0), 0u);
    EXPECT_EQ(reason, "tool_calls");
  }
  auto out = ToolOutput::create({ToolUse::Mode::kAuto, ""}, kHermes);
  std::string reason = "stop";
  EXPECT_EQ(run(*out, "no tools today", 3, &reason).content, "no tools today");
  EXPECT_EQ(reason, "stop");
}

TEST(ToolOutputTest, RequiredReadsTheArrayOfCalls) {
  auto out = ToolOutput::create({ToolUse::Mode::kRequired, ""}, {});
  std::string reason = "stop";
  ParsedOutput p = run(*out,
                       R"([{"name": "now", "parameters": {}}, )"
                       R"({"name": "get_weather", "parameters": {"city": "Lima"}}])",
                       4, &reason);
  EXPECT_EQ(p.content, "");
  ASSERT_EQ(p.tool_calls.size(), 2u);
  EXPECT_EQ(p.tool_calls[0].name, "now");
  EXPECT_EQ(p.tool_calls[1].arguments, R"({"city":"Lima"})");
  EXPECT_NE(p.tool_calls[0].id, p.tool_calls[1].id);
  EXPECT_EQ(reason, "tool_calls");
}

TEST(ToolOutputTest, NamedOutputIsTheArguments) {
  auto out = ToolOutput::create({ToolUse::Mode::kNamed, "get_weather"}, {});
  std::string reason = "stop";
  ParsedOutput p = run(*out, R"({"city": "Kyiv"})", 3, &reason);
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  EXPECT_EQ(p.tool_calls[0].arguments, R"({"city": "Kyiv"})");
  EXPECT_EQ(reason, "tool_calls");
}

TEST(ToolOutputTest, ACutForcedCallIsContent) {
  auto out = ToolOutput::create({ToolUse::Mode::kNamed, "get_weather"}, {});
  std::string reason = "length";
  ParsedOutput p = run(*out, R"({"city": "Ky)", 100, &reason);
  EXPECT_TRUE(p.tool_calls.empty());
  EXPECT_EQ(p.content, R"({"city": "Ky)");
  EXPECT_EQ(reason, "length");
}

TEST(ToolOutputTest, ResponsesCarryTheCalls) {
  ChatChoice c;
  c.finish_reason = "tool_calls";
  c.tool_calls = {{0, {"call_a", "now", "{}"}}};
  const nlohmann::json r = nlohmann::json::parse(chat_response({"chatcmpl-1", 1, "m"}, {c}, {}));
  const nlohmann::json& m = r["choices"][0]["message"];
  EXPECT_TRUE(m["content"].is_null());
  EXPECT_EQ(m["tool_calls"][0]["id"], "call_a");
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "now");
  EXPECT_EQ(m["tool_calls"][0]["function"]["arguments"], "{}");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");

  std::string text;
  chat_chunk(c, chunk_tail({"chatcmpl-1", 1, "m"}, Endpoint::kChatCompletions), &text);
  const nlohmann::json chunk = nlohmann::json::parse(text);
  const nlohmann::json& d = chunk["choices"][0]["delta"];
  EXPECT_EQ(d["tool_calls"][0]["index"], 0);
  EXPECT_EQ(d["tool_calls"][0]["function"]["arguments"], "{}");
}

}  // namespace
}  // namespace pdserve::router
