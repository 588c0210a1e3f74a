#include "tokenizer/chat_template/chat_template.h"

#include <ctime>
#include <exception>
#include <new>

#include "tokenizer/chat_template/content_format.h"
#include "tokenizer/chat_template/evaluator.h"
#include "tokenizer/chat_template/json_value.h"
#include "tokenizer/chat_template/lexer.h"
#include "tokenizer/chat_template/parser.h"
#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {

struct ChatTemplate::Program {
  Body body;
  ContentFormat content_format = ContentFormat::kString;
};

ChatTemplate::ChatTemplate(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
ChatTemplate::~ChatTemplate() = default;
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;

Result<ChatTemplate> ChatTemplate::compile(std::string_view source) {
  try {
    auto program = std::make_shared<Program>();
    program->body = parse_template(tokenize(source));
    program->content_format = detect_content_format(program->body);
    return ChatTemplate(std::move(program));
  } catch (const TemplateError& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return resource_exhausted("chat template: out of memory while compiling");
  }
}

ContentFormat ChatTemplate::content_format() const {
  return program_->content_format;
}

Result<std::string> ChatTemplate::render(std::string_view context_json) const {
  return render(context_json, RenderOptions{});
}

Result<std::string> ChatTemplate::render(std::string_view context_json,
                                         const RenderOptions& options) const {
  try {
    Value context = value_from_json(context_json);
    if (!context.is_dict()) return invalid_argument("chat template context must be a JSON object");
    RenderLimits limits;
    limits.max_output_bytes = options.max_output_bytes;
    limits.max_alloc_bytes = options.max_alloc_bytes;
    limits.max_steps = options.max_steps;
    std::time_t now = options.now_unix_seconds ? static_cast<std::time_t>(*options.now_unix_seconds)
                                               : std::time(nullptr);
    Evaluator ev(limits, now);
    return ev.render(program_->body, context);
  } catch (const TemplateError& e) {
    return e.status();
  } catch (const std::bad_alloc&) {
    return resource_exhausted("chat template: out of memory while rendering");
  } catch (const std::exception& e) {
    // A bug here (a missed type check), never the template's fault; still not a crash.
    return internal_error(std::string("chat template: internal error while rendering: ") +
                          e.what());
  }
}

}  // namespace pdserve::chat_template
