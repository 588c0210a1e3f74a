// ServedModel::render_chat: the template transformers would choose (the
// tokenizer's "tool_use" one for a request that sends tools), rendered with
// every special token in the context.
#include <gtest/gtest.h>

#include "router/completion_handler.h"

namespace pdserve::router {
namespace {

chat_template::ChatTemplate compile(const char* source) {
  auto t = chat_template::ChatTemplate::compile(source);
  EXPECT_TRUE(t.ok()) << t.status().message();
  return std::move(t).value();
}

TEST(ServedModelTest, ToolUseTemplateForRequestsWithTools) {
  const chat_template::ChatTemplate plain =
      compile("plain {{ pad_token }} {{ messages[0].content }}");
  const chat_template::ChatTemplate tools = compile("tools {{ tools | length }} {{ unk_token }}");
  ServedModel model;
  model.chat_template = &plain;
  model.tool_use_template = &tools;
  model.special_tokens_json = R"({"unk_token":"<unk>","pad_token":"<pad>"})";

  auto no_tools =
      parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(no_tools.ok()) << no_tools.error().message;
  EXPECT_EQ(model.render_chat(no_tools->chat).value(), "plain <pad> hi");

  auto with_tools = parse_chat_request(
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"none",)"
      R"("tools":[{"type":"function","function":{"name":"f"}}]})");
  ASSERT_TRUE(with_tools.ok()) << with_tools.error().message;
  EXPECT_EQ(model.render_chat(with_tools->chat).value(), "tools 1 <unk>");

  // Without a tool_use template the default one serves requests with tools too.
  model.tool_use_template = nullptr;
  EXPECT_EQ(model.render_chat(with_tools->chat).value(), "plain <pad> hi");
  // Without any template: a 400 naming messages.
  model.chat_template = nullptr;
  ApiResult<std::string> none = model.render_chat(no_tools->chat);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().param, "messages");
}

}  // namespace
}  // namespace pdserve::router
