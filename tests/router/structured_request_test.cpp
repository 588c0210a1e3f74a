// Structured outputs and tool_choice as the router reads them: every API
// spelling becomes one constraint for the workers, checked by the grammar
// engine first, so a bad schema, regex or grammar is a 400 naming its field.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "router/openai_request.h"

namespace pdserve::router {
namespace {

using Kind = protocol::OutputConstraint::Kind;

std::string completion(const std::string& extra) {
  nlohmann::json j = {{"model", "m"}, {"prompt", "hello"}};
  j.update(nlohmann::json::parse(extra));
  return j.dump();
}

std::string chat(const std::string& extra) {
  nlohmann::json j = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  j.update(nlohmann::json::parse(extra));
  return j.dump();
}

const char* kTools = R"("tools": [
  {"type": "function", "function": {"name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}},
  {"type": "function", "function": {"name": "now"}}])";

std::string with_tools(const std::string& extra) {
  std::string body = "{";
  body += kTools;
  if (!extra.empty()) body.append(", ").append(extra);
  body += "}";
  return chat(body);
}

// The error of a body that must be refused: 400, invalid_request_error, `param`.
ApiError refused(const ApiResult<OpenAiRequest>& r, const std::string& param) {
  EXPECT_FALSE(r.ok()) << param;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().type, "invalid_request_error");
  EXPECT_EQ(r.error().param, param) << r.error().message;
  return r.error();
}

const protocol::OutputConstraint& constraint_of(const ApiResult<OpenAiRequest>& r) {
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->sampling.constraint);
  return *r->sampling.constraint;
}

TEST(StructuredRequestTest, ResponseFormat) {
  auto text = parse_chat_request(chat(R"({"response_format": {"type": "text"}})"));
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->sampling.constraint);

  auto obj = parse_chat_request(chat(R"({"response_format": {"type": "json_object"}})"));
  EXPECT_EQ(constraint_of(obj).kind, Kind::kJsonObject);
  EXPECT_EQ(obj->constraint_field, "response_format");

  auto schema = parse_chat_request(chat(R"({"response_format": {"type": "json_schema",
      "json_schema": {"name": "p", "strict": true, "schema": {"type": "object",
      "properties": {"n": {"type": "integer"}}, "required": ["n"]}}}})"));
  EXPECT_EQ(constraint_of(schema).kind, Kind::kJsonSchema);
  EXPECT_EQ(nlohmann::json::parse(constraint_of(schema).text)["required"][0], "n");
}

// Body text with these fields as written (the helpers above go through a
// sorted json).
std::string chat_text(const std::string& fields) {
  return R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + fields + "}";
}

TEST(StructuredRequestTest, SchemasKeepTheClientsKeyOrder) {
  // Keys out of alphabetical order at every level: the constraint is the
  // schema as written, so the output's keys come in that order (OpenAI, vLLM).
  const std::string schema =
      R"({"type":"object","properties":{"zeta":{"type":"integer"},)"
      R"("alpha":{"type":"object","properties":{"y":{"type":"null"},"b":{"type":"null"}},)"
      R"("required":["y","b"]}},"required":["zeta","alpha"]})";
  EXPECT_EQ(
      constraint_of(parse_chat_request(chat_text(
                        R"("response_format":{"type":"json_schema","json_schema":{"name":"p",)"
                        R"("schema":)" +
                        schema + "}}")))
          .text,
      schema);
  EXPECT_EQ(constraint_of(parse_completion_request(R"({"model":"m","prompt":"hi","guided_json":)" +
                                                   schema + "}"))
                .text,
            schema);
  EXPECT_EQ(constraint_of(
                parse_chat_request(chat_text(R"("structured_outputs":{"json":)" + schema + "}")))
                .text,
            schema);

  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"f","parameters":)" + schema + "}}],";
  EXPECT_EQ(
      constraint_of(parse_chat_request(chat_text(
                        tools + R"("tool_choice":{"type":"function","function":{"name":"f"}})")))
          .text,
      schema);
  // "required": [{"name", "parameters"}], in that order, the parameters as written.
  const std::string calls =
      constraint_of(parse_chat_request(chat_text(tools + R"("tool_choice":"required")"))).text;
  EXPECT_NE(calls.find(R"({"type":"object","properties":{"name":{"type":"string","enum":["f"]},)"
                       R"("parameters":)" +
                       schema + "},"),
            std::string::npos)
      << calls;
}

TEST(StructuredRequestTest, VllmFields) {
  EXPECT_EQ(
      constraint_of(parse_completion_request(completion(R"({"guided_regex": "[0-9]+"})"))).text,
      "[0-9]+");
  auto choice = parse_completion_request(completion(R"({"guided_choice": ["yes", "no"]})"));
  EXPECT_EQ(constraint_of(choice).choices, (std::vector<std::string>{"yes", "no"}));
  EXPECT_EQ(constraint_of(parse_completion_request(
                              completion(R"({"guided_json": "{\"type\": \"boolean\"}"})")))
                .kind,
            Kind::kJsonSchema);
  EXPECT_EQ(constraint_of(parse_completion_request(
                              completion(R"({"guided_grammar": "root ::= \"a\" | \"b\""})")))
                .kind,
            Kind::kGrammar);
  auto so = parse_chat_request(chat(R"({"structured_outputs": {"regex": "a|b"}})"));
  EXPECT_EQ(constraint_of(so).kind, Kind::kRegex);
  EXPECT_EQ(so->constraint_field, "structured_outputs.regex");
  EXPECT_EQ(constraint_of(parse_chat_request(chat(R"({"structured_outputs": {"json": {}}})"))).kind,
            Kind::kJsonSchema);
  auto none = parse_completion_request(completion(R"({"guided_json": null})"));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->sampling.constraint);
}

TEST(StructuredRequestTest, InvalidConstraintsAreRefusedNamingTheField) {
  EXPECT_EQ(
      refused(parse_completion_request(completion(R"({"guided_regex": "(a"})")), "guided_regex")
          .message.rfind("'guided_regex' is invalid: ", 0),
      0u);
  refused(parse_completion_request(completion(R"({"guided_choice": []})")), "guided_choice");
  refused(parse_completion_request(completion(R"({"guided_choice": "yes"})")), "guided_choice");
  refused(parse_completion_request(completion(R"({"guided_json": "{not json"})")), "guided_json");
  refused(parse_completion_request(completion(R"({"guided_grammar": "x ::= \"a\""})")),
          "guided_grammar");
  // A schema keyword the engine does not support is refused, never ignored.
  EXPECT_NE(refused(parse_chat_request(chat(R"({"response_format": {"type": "json_schema",
          "json_schema": {"name": "p", "schema": {"type": "object", "patternProperties": {}}}}})")),
                    "response_format.json_schema.schema")
                .message.find("patternProperties"),
            std::string::npos);
  refused(parse_chat_request(chat(R"({"response_format": {"type": "json_schema"}})")),
          "response_format.json_schema");
  refused(parse_chat_request(chat(R"({"response_format": {"type": "xml"}})")),
          "response_format.type");
  refused(parse_chat_request(chat(R"({"structured_outputs": {"structural_tag": "x"}})")),
          "structured_outputs.structural_tag");
  refused(parse_chat_request(chat(R"({"structural_tag": "x"})")), "structural_tag");
  EXPECT_EQ(refused(parse_completion_request(
                        completion(R"({"guided_regex": "a", "guided_choice": ["a"]})")),
                    "guided_choice")
                .message,
            "'guided_choice' cannot be combined with 'guided_regex': give one structured-output "
            "constraint");
  refused(parse_completion_request(completion(R"({"guided_regex": "a+", "min_tokens": 2})")),
          "min_tokens");
}

TEST(StructuredRequestTest, ToolChoice) {
  auto plain = parse_chat_request(chat("{}"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->tool_use.mode, ToolUse::Mode::kNone);

  auto dflt = parse_chat_request(with_tools(""));
  ASSERT_TRUE(dflt.ok()) << dflt.error().message;
  EXPECT_EQ(dflt->tool_use.mode, ToolUse::Mode::kAuto);  // vLLM's default with tools
  EXPECT_FALSE(dflt->sampling.constraint);
  EXPECT_EQ(parse_chat_request(with_tools(R"("tool_choice": "none")"))->tool_use.mode,
            ToolUse::Mode::kNone);

  auto required = parse_chat_request(with_tools(R"("tool_choice": "required")"));
  EXPECT_EQ(required->tool_use.mode, ToolUse::Mode::kRequired);
  const nlohmann::json schema = nlohmann::json::parse(constraint_of(required).text);
  EXPECT_EQ(schema["type"], "array");
  EXPECT_EQ(schema["minItems"], 1);
  EXPECT_EQ(schema["items"]["anyOf"].size(), 2u);
  EXPECT_EQ(schema["items"]["anyOf"][0]["properties"]["name"]["enum"][0], "get_weather");

  auto named = parse_chat_request(
      with_tools(R"("tool_choice": {"type": "function", "function": {"name": "get_weather"}})"));
  EXPECT_EQ(named->tool_use.mode, ToolUse::Mode::kNamed);
  EXPECT_EQ(named->tool_use.function_name, "get_weather");
  EXPECT_EQ(nlohmann::json::parse(constraint_of(named).text)["required"][0], "city");
}

TEST(StructuredRequestTest, BadToolChoiceIsRefused) {
  refused(parse_chat_request(chat(R"({"tool_choice": "required"})")), "tool_choice");
  refused(parse_chat_request(with_tools(R"("tool_choice": "always")")), "tool_choice");
  refused(parse_chat_request(
              with_tools(R"("tool_choice": {"type": "function", "function": {"name": "nope"}})")),
          "tool_choice.function.name");
  refused(parse_chat_request(chat(R"({"tools": [{"type": "function", "function": {}}]})")),
          "tools[0].function.name");
  refused(
      parse_chat_request(chat(R"({"tools": [{"type": "retrieval", "function": {"name": "f"}}]})")),
      "tools[0].type");
  refused(parse_chat_request(with_tools(
              R"("tool_choice": "required", "response_format": {"type": "json_object"})")),
          "tool_choice");
}

}  // namespace
}  // namespace pdserve::router
