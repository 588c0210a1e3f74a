// Llama 3.x JSON tool calls: the whole output is the call(s), optionally
// after <|python_tag|>: {"name": ..., "parameters": {...}}, several
// separated by ';'. An output that does not start so is plain content.
// The calls are known only once the output ends (a ';' may always follow).
#pragma once

#include "router/tool_parsers/tool_call_format.h"

namespace pdserve::router {

class Llama3JsonFormat final : public ToolCallFormat {
 public:
  StartMatch find_start(std::string_view text, bool at_output_start) const override;
  Result<std::optional<CallBlock>> take_calls(std::string_view text, bool final) const override;
};

}  // namespace pdserve::router
