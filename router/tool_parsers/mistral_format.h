// Mistral: [TOOL_CALLS] followed by a JSON array of
// {"name": ..., "arguments": {...}}; text before it is content.
#pragma once

#include "router/tool_parsers/tool_call_format.h"

namespace pdserve::router {

class MistralFormat final : public ToolCallFormat {
 public:
  StartMatch find_start(std::string_view text, bool at_output_start) const override;
  Result<std::optional<CallBlock>> take_calls(std::string_view text, bool final) const override;
};

}  // namespace pdserve::router
