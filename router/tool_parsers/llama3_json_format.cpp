#include "router/tool_parsers/llama3_json_format.h"

namespace pdserve::router {
namespace {

constexpr std::string_view kPythonTag = "<|python_tag|>";

}  // namespace

StartMatch Llama3JsonFormat::find_start(std::string_view text, bool at_output_start) const {
  if (!at_output_start) return {};
  size_t i = skip_space(text, 0);
  std::string_view rest = text.substr(i);
  if (rest.empty()) return {0, 0, false};
  if (rest.substr(0, kPythonTag.size()) == kPythonTag) return {i, kPythonTag.size(), true};
  if (kPythonTag.substr(0, rest.size()) == rest) return {0, 0, false};
  if (rest[0] == '{') return {i, 0, true};
  return {};
}

Result<std::optional<CallBlock>> Llama3JsonFormat::take_calls(std::string_view text,
                                                              bool final) const {
  if (!final) return std::optional<CallBlock>();
  CallBlock block;
  size_t pos = 0;
  while (true) {
    PD_ASSIGN_OR_RETURN(std::optional<size_t> end, json_value_end(text, pos));
    if (!end) return invalid_argument("tool call: incomplete JSON");
    PD_ASSIGN_OR_RETURN(std::vector<ToolCall> calls, calls_from_json(text.substr(pos, *end - pos)));
    for (ToolCall& c : calls) block.calls.push_back(std::move(c));
    pos = skip_space(text, *end);
    if (pos < text.size() && text[pos] == ';') {
      ++pos;
      continue;
    }
    if (pos != text.size()) return invalid_argument("tool call: text after the calls");
    block.consumed = pos;
    return std::optional<CallBlock>(std::move(block));
  }
}

}  // namespace pdserve::router
