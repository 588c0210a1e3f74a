// How a chat request with `tools` wants its output read back (tool_choice,
// as OpenAI and vLLM define it):
//   kNone      the output is content (tools only reach the template)
//   kAuto      the model may call tools: the router's --tool-call-parser
//              finds the calls in the output
//   kRequired  the output is constrained to a JSON array of calls
//              [{"name", "parameters"}, ...] (at least one)
//   kNamed     the output is constrained to the named function's
//              parameters: the whole output is that call's arguments
#pragma once

#include <string>

namespace pdserve::router {

struct ToolUse {
  enum class Mode { kNone, kAuto, kRequired, kNamed };
  Mode mode = Mode::kNone;
  std::string function_name;  // kNamed
};

}  // namespace pdserve::router
