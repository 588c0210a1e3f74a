#include "router/tool_parsers/tool_call_parser.h"

#include <gtest/gtest.h>

#include <set>

namespace pdserve::router {
namespace {

ToolCallParser make(std::string_view name) {
  auto counter = std::make_shared<int>(0);
  Result<ToolCallParser> p =
      ToolCallParser::create(name, [counter] { return "call_" + std::to_string((*counter)++); });
  EXPECT_TRUE(p.ok()) << p.status().to_string();
  return std::move(p).value();
}

// Feeds `text` in chunks of `chunk` bytes and joins what comes out.
ParsedOutput streamed(std::string_view name, std::string_view text, size_t chunk,
                      std::vector<StreamDelta>* deltas = nullptr) {
  ToolCallParser p = make(name);
  ParsedOutput out;
  auto take = [&](StreamDelta d) {
    out.content += d.content;
    for (size_t i = 0; i < d.tool_calls.size(); ++i) {
      EXPECT_EQ(d.tool_calls[i].index, static_cast<int32_t>(out.tool_calls.size()));
      out.tool_calls.push_back(d.tool_calls[i].call);
    }
    if (deltas && !d.empty()) deltas->push_back(std::move(d));
  };
  for (size_t i = 0; i < text.size(); i += chunk) take(p.feed(text.substr(i, chunk)));
  take(p.finish());
  return out;
}

void expect_same(const ParsedOutput& a, const ParsedOutput& b) {
  EXPECT_EQ(a.content, b.content);
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size());
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id);
    EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name);
    EXPECT_EQ(a.tool_calls[i].arguments, b.tool_calls[i].arguments);
  }
}

// Every chunk size gives what the whole output gives.
ParsedOutput parse_every_way(std::string_view name, std::string_view text) {
  ParsedOutput whole = make(name).parse(text);
  for (size_t chunk = 1; chunk <= text.size(); ++chunk) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    expect_same(streamed(name, text, chunk), whole);
  }
  return whole;
}

TEST(ToolCallParser, HermesCallsAmidText) {
  ParsedOutput out = parse_every_way(
      "hermes",
      "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": "
      "\"Paris\", \"unit\": \"c\"}}\n</tool_call>\n<tool_call>{\"name\": \"now\", \"arguments\": "
      "{}}</tool_call>");
  EXPECT_EQ(out.content, "Let me check.\n\n");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].id, "call_0");
  EXPECT_EQ(out.tool_calls[0].name, "get_weather");
  EXPECT_EQ(out.tool_calls[0].arguments, R"({"city":"Paris","unit":"c"})");  // model's key order
  EXPECT_EQ(out.tool_calls[1].name, "now");
  EXPECT_EQ(out.tool_calls[1].arguments, "{}");
}

TEST(ToolCallParser, HermesStreamsContentBeforeTheCallCompletes) {
  std::vector<StreamDelta> deltas;
  streamed("hermes",
           "Hi <tool_ <tool_call>{\"name\": \"f\", \"arguments\": {\"a\": \"</\"}}</tool_call> bye",
           4, &deltas);
  ASSERT_GE(deltas.size(), 3u);
  EXPECT_EQ(deltas[0].content, "Hi ");
  EXPECT_TRUE(deltas[0].tool_calls.empty());
  size_t call_delta = 0;
  while (call_delta < deltas.size() && deltas[call_delta].tool_calls.empty()) ++call_delta;
  ASSERT_LT(call_delta, deltas.size());
  EXPECT_EQ(deltas[call_delta].tool_calls[0].call.arguments, R"({"a":"</"})");
  EXPECT_EQ(deltas.back().content.back(), 'e');
}

TEST(ToolCallParser, HermesMalformedBlocksStayContent) {
  ParsedOutput bad_json = parse_every_way("hermes", "x<tool_call>{not json}</tool_call>y");
  EXPECT_EQ(bad_json.content, "x<tool_call>{not json}</tool_call>y");
  EXPECT_TRUE(bad_json.tool_calls.empty());
  ParsedOutput unclosed = parse_every_way("hermes", "x<tool_call>{\"name\": \"f\"");
  EXPECT_EQ(unclosed.content, "x<tool_call>{\"name\": \"f\"");
  ParsedOutput partial_marker = parse_every_way("hermes", "x <tool_ca");
  EXPECT_EQ(partial_marker.content, "x <tool_ca");
  ParsedOutput no_name = parse_every_way("hermes", "<tool_call>{\"arguments\": {}}</tool_call>");
  EXPECT_TRUE(no_name.tool_calls.empty());
}

TEST(ToolCallParser, MistralArray) {
  ParsedOutput out = parse_every_way(
      "mistral",
      "Sure. [TOOL_CALLS] [{\"name\": \"add\", \"arguments\": {\"a\": 1, \"b\": [2, \"]\"]}}, "
      "{\"name\": \"noop\", \"arguments\": \"{\\\"x\\\": 1}\"}]");
  EXPECT_EQ(out.content, "Sure. ");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "add");
  EXPECT_EQ(out.tool_calls[0].arguments, R"({"a":1,"b":[2,"]"]})");
  EXPECT_EQ(out.tool_calls[1].arguments, R"({"x": 1})");  // a string stays as written
}

TEST(ToolCallParser, Llama3Json) {
  ParsedOutput out = parse_every_way(
      "llama3_json",
      " <|python_tag|>{\"name\": \"search\", \"parameters\": {\"q\": \"x;y\"}}; {\"name\": "
      "\"open\", \"parameters\": {\"id\": 3}}");
  EXPECT_EQ(out.content, " ");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  EXPECT_EQ(out.tool_calls[0].name, "search");
  EXPECT_EQ(out.tool_calls[0].arguments, R"({"q":"x;y"})");
  EXPECT_EQ(out.tool_calls[1].arguments, R"({"id":3})");
  ParsedOutput bare = parse_every_way("llama3_json", "{\"name\": \"f\", \"parameters\": {}}");
  ASSERT_EQ(bare.tool_calls.size(), 1u);
  EXPECT_EQ(bare.content, "");
  ParsedOutput text = parse_every_way("llama3_json", "The answer is {\"name\": 1}.");
  EXPECT_EQ(text.content, "The answer is {\"name\": 1}.");
  EXPECT_TRUE(text.tool_calls.empty());
  ParsedOutput trailing = parse_every_way("llama3_json", "{\"name\": \"f\"} and more");
  EXPECT_EQ(trailing.content, "{\"name\": \"f\"} and more");
  EXPECT_TRUE(trailing.tool_calls.empty());
}

TEST(ToolCallParser, NamesAndIds) {
  Result<ToolCallParser> bad = ToolCallParser::create("pythonic");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("known: hermes, llama3_json, mistral"), std::string::npos);
  Result<ToolCallParser> p = ToolCallParser::create("hermes");
  ASSERT_TRUE(p.ok());
  ParsedOutput out =
      p->parse("<tool_call>{\"name\": \"a\"}</tool_call><tool_call>{\"name\": \"b\"}</tool_call>");
  ASSERT_EQ(out.tool_calls.size(), 2u);
  std::set<std::string> ids;
  for (const ToolCall& c : out.tool_calls) {
    EXPECT_EQ(c.id.rfind("call_", 0), 0u);
    EXPECT_EQ(c.id.size(), 29u);
    EXPECT_EQ(c.arguments, "{}");
    ids.insert(c.id);
  }
  EXPECT_EQ(ids.size(), 2u);
}

}  // namespace
}  // namespace pdserve::router
