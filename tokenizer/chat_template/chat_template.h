// Chat templates: the Jinja2 subset that published Hugging Face chat
// templates use, rendered exactly as transformers' apply_chat_template
// renders them (ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks,
// loopcontrols, raise_exception, strftime_now and transformers' tojson).
//
// compile() refuses a template that uses anything outside the subset (unknown
// tags, filters, tests, functions, methods, printf-style '%'), naming the
// construct and the line, so such a template fails when a model loads, never
// at request time. render() is bounded: output size, allocated bytes, steps
// and nesting depth are capped (kResourceExhausted past a cap).
//
// A ChatTemplate is immutable after compile(): render() is const and safe to
// call from several threads at once. Copies share the parsed template.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::chat_template {

// What tokenizer_config.json says about chat: the template(s) and the special-token strings.
struct ChatTemplateConfig {
  std::string chat_template;  // the default one ("default" of a named list, or the string)
  std::map<std::string, std::string> named_templates;  // e.g. "tool_use"
  std::string bos_token, eos_token;                    // strings, or AddedToken dicts' "content"
  bool add_bos_token = false;                          // as written in the file, informational
  // transformers' special_tokens_map, which apply_chat_template puts in the
  // template context: each of bos_token, eos_token, unk_token, sep_token,
  // pad_token, cls_token, mask_token the file sets (in that order), then
  // "additional_special_tokens" (a list) when it has any. A JSON object.
  std::string special_tokens_json = "{}";
};

// Reads MODEL_DIR/tokenizer_config.json, and chat_template.jinja / chat_template.json when
// present (they take precedence, as in transformers). kNotFound when there is no
// tokenizer_config.json; kInvalidArgument when a file is malformed. A config without any
// chat template is not an error: chat_template is empty.
Result<ChatTemplateConfig> load_chat_template_config(const std::string& model_dir);

// The shape of message content a template expects (vLLM's
// --chat-template-content-format): "string", the text parts joined with "\n";
// "openai", the list of parts, [{"type": "text", "text": ...}, ...].
enum class ContentFormat { kString, kOpenAi };

struct RenderOptions {
  // What strftime_now() sees as "now" (seconds since the epoch, local time zone);
  // nullopt: the clock at render time.
  std::optional<int64_t> now_unix_seconds;
  size_t max_output_bytes = 16u << 20;
  size_t max_alloc_bytes = 256u << 20;
  int64_t max_steps = 5'000'000;
};

class ChatTemplate {
 public:
  // Parses and checks the template: a construct outside the supported subset fails HERE with
  // kInvalidArgument naming the construct and the line
  // ("chat template line 3: unsupported filter 'wordwrap'").
  static Result<ChatTemplate> compile(std::string_view source);

  // context_json: a JSON object: {"messages": [...], "add_generation_prompt": bool,
  // "tools": [...], "bos_token": "...", "eos_token": "...", plus any extra keyword arguments}.
  // raise_exception(msg) in the template -> kInvalidArgument whose message is msg.
  // Other template errors -> kInvalidArgument "chat template line N: ...";
  // a render limit -> kResourceExhausted.
  Result<std::string> render(std::string_view context_json) const;
  Result<std::string> render(std::string_view context_json, const RenderOptions& options) const;

  // The content format the template expects, found from its syntax as vLLM's
  // "auto" finds it (content_format.h): kOpenAi when it loops over a
  // message's content (or indexes it by an integer), else kString.
  ContentFormat content_format() const;

  ~ChatTemplate();
  ChatTemplate(const ChatTemplate&);
  ChatTemplate& operator=(const ChatTemplate&);
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;

 private:
  struct Program;
  explicit ChatTemplate(std::shared_ptr<const Program> program);
  std::shared_ptr<const Program> program_;
};

}  // namespace pdserve::chat_template
