// TemplateError: the exception the lexer, parser and evaluator throw inside
// this module. ChatTemplate::compile/render catch it and return a Status, so
// nothing crosses the module boundary (STYLE.md habit 10).
#pragma once

#include <exception>
#include <string>
#include <utility>

#include "common/base/status.h"

namespace pdserve::chat_template {

class TemplateError : public std::exception {
 public:
  TemplateError(StatusCode code, std::string message) : status_(code, std::move(message)) {}
  const char* what() const noexcept override { return status_.message().c_str(); }
  const Status& status() const { return status_; }

 private:
  Status status_;
};

// "chat template line N: message", kInvalidArgument.
[[noreturn]] void fail_at(int line, const std::string& message);
// Same with kResourceExhausted: a render limit was hit.
[[noreturn]] void fail_limit(int line, const std::string& message);

}  // namespace pdserve::chat_template
