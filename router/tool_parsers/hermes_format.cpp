#include "router/tool_parsers/hermes_format.h"

namespace pdserve::router {
namespace {

constexpr std::string_view kStart = "<tool_call>";
constexpr std::string_view kEnd = "</tool_call>";

}  // namespace

StartMatch HermesFormat::find_start(std::string_view text, bool /*at_output_start*/) const {
  return find_marker(text, kStart);
}

Result<std::optional<CallBlock>> HermesFormat::take_calls(std::string_view text, bool final) const {
  size_t end = text.find(kEnd);
  if (end == std::string_view::npos) {
    if (final) return invalid_argument("tool call: <tool_call> without </tool_call>");
    return std::optional<CallBlock>();
  }
  PD_ASSIGN_OR_RETURN(std::vector<ToolCall> calls, calls_from_json(text.substr(0, end)));
  return std::optional<CallBlock>(CallBlock{std::move(calls), end + kEnd.size()});
}

}  // namespace pdserve::router
