// libFuzzer target: arbitrary bytes as a chat template, compiled and (when
// it compiles) rendered against a fixed conversation, its content shaped for
// the content format the template expects (content_format(): one string, or
// the list of parts, as the router gives them). Any crash, sanitizer
// report, stack overflow or timeout is a bug: compile() must refuse or accept,
// render() must finish within its limits.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tokenizer/chat_template/chat_template.h"

namespace {

// The conversation; each %NAME% is a content, filled in by context().
constexpr std::string_view kContext = R"({
  "messages": [
    {"role": "system", "content": %BE_BRIEF%},
    {"role": "user", "content": %WEATHER%},
    {"role": "assistant", "content": %NULL%, "reasoning_content": "check tool",
     "tool_calls": [{"id": "call12345", "type": "function",
                     "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": %TOOL%},
    {"role": "assistant", "content": %ANSWER%},
    {"role": "user", "content": %PARTS%}
  ],
  "tools": [{"type": "function", "function": {"name": "get_weather", "description": "w",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}}],
  "documents": null,
  "add_generation_prompt": true,
  "enable_thinking": false,
  "bos_token": "<s>",
  "eos_token": "</s>"
})";

// kContext with each %NAME% replaced by its content in `format`.
std::string context(pdserve::chat_template::ContentFormat format) {
  const bool parts = format == pdserve::chat_template::ContentFormat::kOpenAi;
  auto text = [parts](std::string_view json_string) {
    return parts ? R"([{"type": "text", "text": )" + std::string(json_string) + "}]"
                 : std::string(json_string);
  };
  const std::pair<std::string_view, std::string> fills[] = {
      {"%BE_BRIEF%", text(R"("Be brief.")")},
      {"%WEATHER%", text(R"("Weather in Zürich?")")},
      {"%NULL%", parts ? "[]" : R"("")"},
      {"%TOOL%", text(R"("{\"temp\": 21.5}")")},
      {"%ANSWER%", text(R"("<think>\nok\n</think>\n\nIt is 21.5 °C.")")},
      {"%PARTS%",
       parts ? R"([{"type": "text", "text": "look"}, {"type": "text", "text": "and this?"}])"
             : R"("look\nand this?")"}};
  std::string out(kContext);
  for (const auto& [name, value] : fills) out.replace(out.find(name), name.size(), value);
  return out;
}

const std::string kStringContext = context(pdserve::chat_template::ContentFormat::kString);
const std::string kOpenAiContext = context(pdserve::chat_template::ContentFormat::kOpenAi);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using pdserve::chat_template::ChatTemplate;
  using pdserve::chat_template::RenderOptions;
  std::string_view source(reinterpret_cast<const char*>(data), size);
  auto compiled = ChatTemplate::compile(source);
  if (!compiled.ok()) return 0;
  RenderOptions options;
  options.now_unix_seconds = 1737000000;
  options.max_output_bytes = 1u << 20;
  options.max_alloc_bytes = 16u << 20;
  options.max_steps = 100'000;
  const bool parts = compiled->content_format() == pdserve::chat_template::ContentFormat::kOpenAi;
  auto rendered = compiled->render(parts ? kOpenAiContext : kStringContext, options);
  (void)rendered;
  return 0;
}
