// Hermes / Qwen: each call is <tool_call>{"name": ..., "arguments": {...}}</tool_call>,
// anywhere in the text, several allowed.
#pragma once

#include "router/tool_parsers/tool_call_format.h"

namespace pdserve::router {

class HermesFormat final : public ToolCallFormat {
 public:
  StartMatch find_start(std::string_view text, bool at_output_start) const override;
  Result<std::optional<CallBlock>> take_calls(std::string_view text, bool final) const override;
};

}  // namespace pdserve::router
