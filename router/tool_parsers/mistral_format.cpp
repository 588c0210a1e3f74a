#include "router/tool_parsers/mistral_format.h"

namespace pdserve::router {

StartMatch MistralFormat::find_start(std::string_view text, bool /*at_output_start*/) const {
  return find_marker(text, "[TOOL_CALLS]");
}

Result<std::optional<CallBlock>> MistralFormat::take_calls(std::string_view text,
                                                           bool final) const {
  PD_ASSIGN_OR_RETURN(std::optional<size_t> end, json_value_end(text, 0));
  if (!end) {
    if (final) return invalid_argument("tool call: [TOOL_CALLS] without a complete JSON array");
    return std::optional<CallBlock>();
  }
  PD_ASSIGN_OR_RETURN(std::vector<ToolCall> calls, calls_from_json(text.substr(0, *end)));
  return std::optional<CallBlock>(CallBlock{std::move(calls), *end});
}

}  // namespace pdserve::router
