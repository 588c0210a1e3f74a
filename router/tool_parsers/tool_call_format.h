// ToolCallFormat: how one model family writes tool calls into its text (one
// implementation per file: hermes_format, llama3_json_format,
// mistral_format). ToolCallParser (tool_call_parser.h) runs any of them
// over whole outputs and over streamed chunks.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "router/tool_parsers/tool_call.h"

namespace pdserve::router {

// Where a block of calls starts in the text not yet emitted.
struct StartMatch {
  static constexpr size_t kNone = std::string_view::npos;
  size_t pos = kNone;     // kNone: no call starts in this text
  size_t len = 0;         // bytes of the start marker (skipped)
  bool complete = false;  // false: text from pos may become a marker; hold it back
};

// A block of calls read from the text after a start marker.
struct CallBlock {
  std::vector<ToolCall> calls;  // ids not yet assigned
  size_t consumed = 0;          // bytes of the text the block took
};

class ToolCallFormat {
 public:
  virtual ~ToolCallFormat() = default;
  // `at_output_start`: nothing of the output was emitted before `text`.
  virtual StartMatch find_start(std::string_view text, bool at_output_start) const = 0;
  // The calls at the start of `text`: nullopt while incomplete (more text may
  // come; `final`: no more will); an error when the text is not a valid block.
  virtual Result<std::optional<CallBlock>> take_calls(std::string_view text, bool final) const = 0;
};

// Shared by the formats.
// The marker in `text`, or the start of a suffix of `text` that begins it.
StartMatch find_marker(std::string_view text, std::string_view marker);
// The end of the JSON value that starts at text[from] (after whitespace):
// nullopt when the text ends first; an error when it is not JSON-shaped.
Result<std::optional<size_t>> json_value_end(std::string_view text, size_t from);
// Calls from a JSON object {"name": ..., "arguments" | "parameters": {...}}
// or an array of them.
Result<std::vector<ToolCall>> calls_from_json(std::string_view json);
size_t skip_space(std::string_view text, size_t from);

}  // namespace pdserve::router
