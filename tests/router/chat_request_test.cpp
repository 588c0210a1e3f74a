#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "router/openai_request.h"
#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::router {
namespace {

using nlohmann::json;

std::string chat(const std::string& extra = "{}") {
  json j = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  j.update(json::parse(extra));
  return j.dump();
}

ApiError chat_error(const std::string& extra) {
  auto r = parse_chat_request(chat(extra));
  EXPECT_FALSE(r.ok()) << extra;
  return r.ok() ? ApiError{} : r.error();
}

void expect_error(const std::string& extra, const std::string& param, const std::string& message) {
  ApiError e = chat_error(extra);
  EXPECT_EQ(e.http_status, 400) << extra;
  EXPECT_EQ(e.type, "invalid_request_error") << extra;
  EXPECT_EQ(e.param, param) << extra;
  EXPECT_EQ(e.message, message) << extra;
}

TEST(ChatRequestTest, Defaults) {
  auto r = parse_chat_request(chat());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->endpoint, Endpoint::kChatCompletions);
  EXPECT_TRUE(r->prompts.empty());
  EXPECT_TRUE(r->chat.add_generation_prompt);
  EXPECT_FALSE(r->chat.continue_final_message);
  EXPECT_EQ(r->chat.num_messages, 1);
  EXPECT_EQ(json::parse(r->chat.messages_json), json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(r->chat.tools_json, "");
  EXPECT_EQ(r->sampling.num_logprobs, -1);
  EXPECT_FALSE(r->add_special_tokens);
}

// The messages the template gets in `format`.
json template_messages(const ChatInput& chat, ContentFormat format) {
  return json::parse(build_template_context(chat, "{}", format))["messages"];
}

TEST(ChatRequestTest, MessagesAreNormalized) {
  auto r = parse_chat_request(R"({"model":"m","messages":[
      {"role":"system","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
      {"role":"assistant","content":null,"reasoning_content":"think",
       "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\": 1}"}},
                     {"id":"c2","type":"function","function":{"name":"g","arguments":"not json"}}]},
      {"role":"tool","content":"42","tool_call_id":"c1","name":"f","extra":1},
      {"role":"user"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  json m = template_messages(r->chat, ContentFormat::kString);
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0], json::parse(R"({"role":"system","content":"a\nb"})"));
  EXPECT_EQ(m[1]["content"], "");  // null: no parts, as vLLM's "string" format
  EXPECT_EQ(m[1]["reasoning_content"], "think");
  EXPECT_EQ(m[1]["tool_calls"][0]["function"]["arguments"], json::parse(R"({"x":1})"));
  EXPECT_EQ(m[1]["tool_calls"][1]["function"]["arguments"], "not json");
  EXPECT_EQ(m[2], json::parse(R"({"role":"tool","content":"42","tool_call_id":"c1","name":"f"})"));
  EXPECT_EQ(m[3]["content"], "");  // absent: the same
  EXPECT_EQ(r->chat.num_messages, 4);
}

TEST(ChatRequestTest, ContentPartsInEveryRole) {
  // Every role takes a list of parts, an assistant's refusal is text too. As
  // vLLM: the "string" format joins non-empty texts with "\n"; "openai" keeps
  // every part as a text part and makes a string one part (null: none).
  auto r = parse_chat_request(R"({"model":"m","messages":[
      {"role":"system","content":[{"type":"text","text":"s1"},{"type":"text","text":"s2"}]},
      {"role":"developer","content":[{"type":"text","text":"d"}]},
      {"role":"user","content":[{"type":"text","text":"u1"},{"type":"text","text":""},
                                {"type":"text","text":"u2"}]},
      {"role":"assistant","content":[{"type":"text","text":"a"},{"type":"refusal","refusal":"r"}],
       "tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":[{"type":"text","text":"42"}]},
      {"role":"user","content":[]},
      {"role":"user","content":"plain"},
      {"role":"assistant","content":null}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  json m = template_messages(r->chat, ContentFormat::kString);
  ASSERT_EQ(m.size(), 8u);
  EXPECT_EQ(m[0]["content"], "s1\ns2");
  EXPECT_EQ(m[1]["content"], "d");
  EXPECT_EQ(m[2]["content"], "u1\nu2");
  EXPECT_EQ(m[3]["content"], "a\nr");
  EXPECT_EQ(m[4]["content"], "42");
  EXPECT_EQ(m[5]["content"], "");
  EXPECT_EQ(m[6]["content"], "plain");
  EXPECT_EQ(m[7]["content"], "");
  json o = template_messages(r->chat, ContentFormat::kOpenAi);
  ASSERT_EQ(o.size(), 8u);
  EXPECT_EQ(o[0]["content"],
            json::parse(R"([{"type":"text","text":"s1"},{"type":"text","text":"s2"}])"));
  EXPECT_EQ(o[2]["content"], json::parse(R"([{"type":"text","text":"u1"},{"type":"text","text":""},
                                             {"type":"text","text":"u2"}])"));
  EXPECT_EQ(o[3]["content"],
            json::parse(R"([{"type":"text","text":"a"},{"type":"text","text":"r"}])"));
  EXPECT_EQ(o[5]["content"], json::array());
  EXPECT_EQ(o[6]["content"], json::parse(R"([{"type":"text","text":"plain"}])"));
  EXPECT_EQ(o[7]["content"], json::array());
  EXPECT_EQ(o[3]["tool_calls"][0]["function"]["name"], "f");
}

TEST(ChatRequestTest, EmptyToolCallsAreNoToolCalls) {
  // As vLLM: an empty list is dropped, so the template sees a plain assistant turn.
  auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"},
      {"role":"assistant","content":"hello","tool_calls":[]},{"role":"user","content":"x"}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  json m = json::parse(r->chat.messages_json);
  EXPECT_EQ(m[1], json::parse(R"({"role":"assistant","content":"hello"})"));
  auto t = chat_template::ChatTemplate::compile(
      "{% for m in messages %}{% if m.tool_calls is defined %}[calls]{% else %}"
      "{{ m.content }}{% endif %}|{% endfor %}");
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto out = t->render(build_template_context(r->chat, "{}", ContentFormat::kString));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, "hi|hello|x|");
}

TEST(ChatRequestTest, MessageErrors) {
  expect_error(R"({"messages": null})", "messages", "'messages' is required");
  expect_error(R"({"messages": []})", "messages", "'messages' must not be empty");
  expect_error(R"({"messages": "hi"})", "messages", "'messages' must be an array, got a string");
  expect_error(R"({"messages": [5]})", "messages[0]",
               "'messages[0]' must be an object, got an integer");
  expect_error(R"({"messages": [{"content": "x"}]})", "messages[0].role",
               "'messages[0].role' is required");
  expect_error(R"({"messages": [{"role": 1}]})", "messages[0].role",
               "'messages[0].role' must be a string, got an integer");
  expect_error(R"({"messages": [{"role": ""}]})", "messages[0].role",
               "'messages[0].role' must not be empty");
  expect_error(
      R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content",
      "'messages[0].content' must be a string, null or an array of content parts, got an integer");
  expect_error(R"({"messages": [{"role": "user", "content": "a"},
                   {"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
               "messages[1].content[0].type",
               "'messages[1].content[0].type' is 'image_url': this model takes text only "
               "(content parts of type 'text')");
  for (const char* media : {"input_audio", "file"})
    expect_error(std::string(R"({"messages": [{"role": "user", "content": [{"type": ")") + media +
                     R"("}]}]})",
                 "messages[0].content[0].type",
                 std::string("'messages[0].content[0].type' is '") + media +
                     "': this model takes text only (content parts of type 'text')");
  expect_error(
      R"({"messages": [{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}]})",
      "messages[0].content[0].type", "'messages[0].content[0].type' must be 'text', got 'refusal'");
  expect_error(R"({"messages": [{"role": "assistant", "content": [{"type": "bogus"}]}]})",
               "messages[0].content[0].type",
               "'messages[0].content[0].type' must be 'text' or 'refusal', got 'bogus'");
  expect_error(R"({"messages": [{"role": "assistant", "content": [{"type": "refusal"}]}]})",
               "messages[0].content[0].refusal",
               "'messages[0].content[0].refusal' must be a string");
  expect_error(R"({"messages": [{"role": "user", "content": [{"text": "x"}]}]})",
               "messages[0].content[0].type", "'messages[0].content[0].type' must be a string");
  expect_error(R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
               "messages[0].content[0].text", "'messages[0].content[0].text' must be a string");
  expect_error(R"({"messages": [{"role": "user", "content": ["x"]}]})", "messages[0].content[0]",
               "'messages[0].content[0]' must be an object");
  expect_error(R"({"messages": [{"role": "user", "name": 3}]})", "messages[0].name",
               "'messages[0].name' must be a string, got an integer");
  expect_error(R"({"messages": [{"role": "assistant", "tool_calls": {}}]})",
               "messages[0].tool_calls",
               "'messages[0].tool_calls' must be an array, got an object");
  ApiLimits limits;
  limits.max_messages = 1;
  auto r =
      parse_chat_request(R"({"model":"m","messages":[{"role":"user"},{"role":"user"}]})", limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "'messages' has more than 1 messages");
}

TEST(ChatRequestTest, TemplateOptions) {
  auto r = parse_chat_request(chat(R"({"tools": [{"type":"function","function":{"name":"f"}}],
      "tool_choice": "auto", "add_generation_prompt": false, "chat_template_kwargs": {"enable_thinking": false}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->chat.add_generation_prompt);
  EXPECT_EQ(json::parse(r->chat.tools_json)[0]["function"]["name"], "f");
  EXPECT_EQ(json::parse(r->chat.tool_choice_json), "auto");
  EXPECT_EQ(json::parse(r->chat.chat_template_kwargs_json)["enable_thinking"], false);

  auto cont = parse_chat_request(chat(R"({"continue_final_message": true})"));
  ASSERT_TRUE(cont.ok());
  EXPECT_TRUE(cont->chat.continue_final_message);
  EXPECT_FALSE(cont->chat.add_generation_prompt);

  expect_error(R"({"continue_final_message": true, "add_generation_prompt": true})",
               "continue_final_message",
               "'continue_final_message' and 'add_generation_prompt' cannot both be true");
  expect_error(R"({"tools": {}})", "tools", "'tools' must be an array, got an object");
  expect_error(R"({"tools": [1]})", "tools[0]", "'tools[0]' must be an object");
  expect_error(R"({"tool_choice": 1})", "tool_choice",
               "'tool_choice' must be a string or an object, got an integer");
  expect_error(R"({"chat_template_kwargs": []})", "chat_template_kwargs",
               "'chat_template_kwargs' must be an object, got an array");
  expect_error(R"({"add_generation_prompt": "yes"})", "add_generation_prompt",
               "'add_generation_prompt' must be a boolean, got a string");
}

TEST(ChatRequestTest, Logprobs) {
  auto r = parse_chat_request(chat(R"({"logprobs": true})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sampling.num_logprobs, 0);
  r = parse_chat_request(chat(R"({"logprobs": true, "top_logprobs": 5})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sampling.num_logprobs, 5);
  r = parse_chat_request(chat(R"({"logprobs": false})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sampling.num_logprobs, -1);
  expect_error(R"({"top_logprobs": 2})", "top_logprobs",
               "'top_logprobs' requires 'logprobs' to be true");
  expect_error(R"({"logprobs": true, "top_logprobs": 21})", "top_logprobs",
               "'top_logprobs' must be an integer in [0, 20], got 21");
  expect_error(R"({"logprobs": 3})", "logprobs", "'logprobs' must be a boolean, got an integer");
}

TEST(ChatRequestTest, MaxCompletionTokensWins) {
  auto r = parse_chat_request(chat(R"({"max_tokens": 10, "max_completion_tokens": 20})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->max_tokens, 20);
  r = parse_chat_request(chat(R"({"max_tokens": 10})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->max_tokens, 10);
  expect_error(R"({"max_completion_tokens": 0})", "max_completion_tokens",
               "'max_completion_tokens' must be an integer in [1, 1048576], got 0");
  auto s = finalize_sampling(r.value(), 95, 100);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().param, "messages");
  EXPECT_EQ(s.error().code, "context_length_exceeded");
}

TEST(ChatRequestTest, InternalFieldsDroppedAndSharedBounds) {
  auto r =
      parse_chat_request(chat(R"({"prefill_mode": "remote", "kv_target": {"block_ids": [1]}})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->dropped_fields.size(), 2u);
  expect_error(R"({"temperature": 3})", "temperature", "'temperature' must be in [0, 2], got 3");
  expect_error(R"({"n": 0})", "n", "'n' must be an integer in [1, 16], got 0");
  expect_error(R"({"model": null})", "model", "'model' is required");
}

TEST(TemplateContextTest, HoldsEverythingTheTemplateNeeds) {
  auto r = parse_chat_request(chat(R"({"tools": [{"type":"function","function":{"name":"f"}}],
      "tool_choice": {"type":"function","function":{"name":"f"}},
      "chat_template_kwargs": {"enable_thinking": true, "messages": "overridden", "bos_token": "x"}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  json ctx = json::parse(build_template_context(
      r->chat, R"({"bos_token":"<s>","eos_token":"</s>","additional_special_tokens":["<t>"]})",
      ContentFormat::kString));
  EXPECT_EQ(ctx["messages"], json::parse(R"([{"role":"user","content":"hi"}])"));
  EXPECT_EQ(ctx["add_generation_prompt"], true);
  EXPECT_EQ(ctx["continue_final_message"], false);
  // Every special token; a kwarg wins over one ({**special_tokens_map, **kwargs}).
  EXPECT_EQ(ctx["bos_token"], "x");
  EXPECT_EQ(ctx["eos_token"], "</s>");
  EXPECT_EQ(ctx["additional_special_tokens"], json::parse(R"(["<t>"])"));
  EXPECT_EQ(ctx["tools"][0]["type"], "function");
  EXPECT_EQ(ctx["tool_choice"]["type"], "function");
  EXPECT_EQ(ctx["enable_thinking"], true);

  ChatInput bare;
  json b = json::parse(build_template_context(bare, "{}", ContentFormat::kString));
  EXPECT_TRUE(b["messages"].is_array());
  EXPECT_TRUE(b.contains("tools") && b["tools"].is_null());  // None, as apply_chat_template
  EXPECT_TRUE(b.contains("documents") && b["documents"].is_null());
  EXPECT_FALSE(b.contains("tool_choice"));
}

TEST(TemplateContextTest, ToolsKeepTheClientsKeyOrder) {
  // Keys out of alphabetical order at every level.
  const std::string tools =
      R"([{"type":"function","function":{"name":"f","parameters":{"type":"object",)"
      R"("properties":{"zeta":{"type":"string"},"alpha":{"type":"integer"}},"required":["zeta"]}}}])";
  auto r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"tools":)" + tools + "}");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->chat.tools_json, tools);
  auto t = chat_template::ChatTemplate::compile("{{ tools | tojson }}");
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto out = t->render(build_template_context(r->chat, "{}", ContentFormat::kString));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out,
            R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object", )"
            R"("properties": {"zeta": {"type": "string"}, "alpha": {"type": "integer"}}, )"
            R"("required": ["zeta"]}}}])");
}

TEST(TemplateContextTest, ToolCallArgumentsKeepTheClientsKeyOrder) {
  auto r = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant",)"
      R"("tool_calls":[{"id":"c","type":"function","function":{"name":"f",)"
      R"("arguments":"{\"zeta\": 1, \"alpha\": {\"y\": 2, \"b\": 3}}"}}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto t = chat_template::ChatTemplate::compile(
      "{{ messages[1].tool_calls[0].function.arguments | tojson }}");
  ASSERT_TRUE(t.ok()) << t.status().message();
  auto out = t->render(build_template_context(r->chat, "{}", ContentFormat::kString));
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(*out, R"({"zeta": 1, "alpha": {"y": 2, "b": 3}})");
}

TEST(ContinueFinalMessageTest, CutsAfterTheFinalContentAsTransformers) {
  auto r = parse_chat_request(json::parse(R"({"model": "m", "continue_final_message": true,
      "add_generation_prompt": false, "messages": [{"role": "user", "content": "Recite it."},
      {"role": "assistant", "content": "In the beginning  "}]})")
                                  .dump());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string rendered =
      "<|user|>\nRecite it.<|end|>\n<|assistant|>\nIn the beginning  <|end|>\n";
  ApiResult<std::string> cut = cut_after_final_message(rendered, r->chat, ContentFormat::kString);
  ASSERT_TRUE(cut.ok()) << cut.error().message;
  EXPECT_EQ(cut.value(), "<|user|>\nRecite it.<|end|>\n<|assistant|>\nIn the beginning");
  ApiResult<std::string> missing =
      cut_after_final_message("<|user|>\nRecite it.", r->chat, ContentFormat::kString);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().param, "messages");
  ChatInput plain;  // without the flag: unchanged
  EXPECT_EQ(cut_after_final_message(rendered, plain, ContentFormat::kString).value(), rendered);
}

TEST(ContinueFinalMessageTest, OpenAiFormatContinuesTheLastTextPart) {
  auto r = parse_chat_request(R"({"model": "m", "continue_final_message": true,
      "messages": [{"role": "user", "content": "Go."}, {"role": "assistant", "content":
      [{"type": "text", "text": "One"}, {"type": "text", "text": "Two "}]}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  // As transformers: the last text part; in the "string" format the joined text.
  EXPECT_EQ(
      cut_after_final_message("U: Go. A: One|Two <end>", r->chat, ContentFormat::kOpenAi).value(),
      "U: Go. A: One|Two");
  EXPECT_EQ(
      cut_after_final_message("U: Go. A: One\nTwo <end>", r->chat, ContentFormat::kString).value(),
      "U: Go. A: One\nTwo");
}

}  // namespace
}  // namespace pdserve::router
