// Tool calls as the OpenAI API returns them: a finished message's
// `tool_calls` (id, type "function", function name, arguments as a JSON
// string) and, when streaming, `delta.tool_calls` entries keyed by index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pdserve::router {

struct ToolCall {
  std::string id;         // "call_" + 24 random letters and digits
  std::string name;       // function.name
  std::string arguments;  // function.arguments: JSON text, as the model wrote it
};

// The text a model generated, split into what the user reads and the calls.
struct ParsedOutput {
  std::string content;
  std::vector<ToolCall> tool_calls;
};

// One streamed delta of a tool call. A call is sent in one delta, once its
// JSON is complete: index, id, type, name and the whole arguments.
struct ToolCallDelta {
  int32_t index = 0;
  ToolCall call;
};

// What one chunk of generated text adds to the stream.
struct StreamDelta {
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return content.empty() && tool_calls.empty(); }
};

}  // namespace pdserve::router
