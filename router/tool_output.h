// ToolOutput: one chat choice's generated text read back as content and
// tool calls, as the request's ToolUse (tool_use.h) says:
//   kAuto      through the router's --tool-call-parser, chunk by chunk
//              (content streams as it comes; a call once its JSON is whole)
//   kRequired  the whole output is a JSON array of {"name", "parameters"}
//   kNamed     the whole output is the named function's arguments
// A forced output that does not parse (cut by max_tokens) is given back as
// content. A choice that called a tool finishes with "tool_calls".
// One per choice; not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "router/api_error.h"
#include "router/tool_parsers/tool_call.h"
#include "router/tool_parsers/tool_call_parser.h"
#include "router/tool_use.h"

namespace pdserve::router {

// The router's tool-call flags (--tool-call-parser, --enable-auto-tool-choice).
struct ToolCallOptions {
  std::string parser;  // "": none
  bool enable_auto_tool_choice = false;
};

// A request whose tool_choice is "auto" (also the default with tools) needs
// both flags, as vLLM, and a known parser: nullopt, or a 400 naming "tool_choice".
std::optional<ApiError> check_tool_use(const ToolUse& use, const ToolCallOptions& options);

class ToolOutput {
 public:
  // Null for kNone, and for a request check_tool_use refuses (the output is content).
  static std::unique_ptr<ToolOutput> create(const ToolUse& use, const ToolCallOptions& options);

  // The content and calls `text` completes; with `finished`, everything
  // left, and *finish_reason becomes "tool_calls" when a tool was called
  // (it stays as it is otherwise).
  StreamDelta take(std::string_view text, bool finished, std::string* finish_reason);

 private:
  explicit ToolOutput(ToolUse use) : use_(std::move(use)) {}
  StreamDelta finish_forced();

  ToolUse use_;
  std::optional<ToolCallParser> parser_;  // kAuto
  std::string output_;                    // kRequired, kNamed: the whole output
  int num_calls_ = 0;
};

}  // namespace pdserve::router
