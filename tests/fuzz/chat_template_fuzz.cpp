// libFuzzer target: arbitrary bytes as a chat template, compiled and (when
// it compiles) rendered against a fixed conversation. Any crash, sanitizer
// report, stack overflow or timeout is a bug: compile() must refuse or accept,
// render() must finish within its limits.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenizer/chat_template/chat_template.h"

namespace {

constexpr std::string_view kContext = R"({
  "messages": [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Weather in Zürich?"},
    {"role": "assistant", "content": null, "reasoning_content": "check tool",
     "tool_calls": [{"id": "call12345", "type": "function",
                     "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21.5}"},
    {"role": "assistant", "content": "<think>\nok\n</think>\n\nIt is 21.5 °C."},
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "and this?"}]}
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
  auto rendered = compiled->render(kContext, options);
  (void)rendered;
  return 0;
}
