#include "tokenizer/chat_template/template_error.h"

namespace pdserve::chat_template {

void fail_at(int line, const std::string& message) {
  throw TemplateError(StatusCode::kInvalidArgument,
                      "chat template line " + std::to_string(line) + ": " + message);
}

void fail_limit(int line, const std::string& message) {
  throw TemplateError(StatusCode::kResourceExhausted,
                      "chat template line " + std::to_string(line) + ": " + message);
}

}  // namespace pdserve::chat_template
