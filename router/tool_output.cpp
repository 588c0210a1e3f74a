#include "router/tool_output.h"

#include <nlohmann/json.hpp>

#include "router/tool_parsers/tool_call_format.h"

namespace pdserve::router {

std::optional<ApiError> check_tool_use(const ToolUse& use, const ToolCallOptions& options) {
  if (use.mode != ToolUse::Mode::kAuto) return std::nullopt;
  if (options.enable_auto_tool_choice && ToolCallParser::create(options.parser).ok())
    return std::nullopt;
  return invalid_request("tool_choice",
                         "\"auto\" tool choice requires --enable-auto-tool-choice and "
                         "--tool-call-parser to be set on the router");
}

std::unique_ptr<ToolOutput> ToolOutput::create(const ToolUse& use, const ToolCallOptions& options) {
  if (use.mode == ToolUse::Mode::kNone || check_tool_use(use, options)) return nullptr;
  std::unique_ptr<ToolOutput> out(new ToolOutput(use));
  if (use.mode == ToolUse::Mode::kAuto)
    out->parser_.emplace(std::move(ToolCallParser::create(options.parser)).value());
  return out;
}

StreamDelta ToolOutput::finish_forced() {
  StreamDelta d;
  if (use_.mode == ToolUse::Mode::kNamed) {
    const bool is_json = nlohmann::json::accept(output_);
    if (is_json) d.tool_calls.push_back({0, {random_call_id(), use_.function_name, output_}});
  } else {
    Result<std::vector<ToolCall>> calls = calls_from_json(output_);
    if (calls.ok()) {
      for (ToolCall& c : *calls) {
        c.id = random_call_id();
        d.tool_calls.push_back({static_cast<int32_t>(d.tool_calls.size()), std::move(c)});
      }
    }
  }
  if (d.tool_calls.empty()) d.content = std::move(output_);
  return d;
}

StreamDelta ToolOutput::take(std::string_view text, bool finished, std::string* finish_reason) {
  StreamDelta d;
  if (parser_) {
    d = parser_->feed(text);
    if (finished) {
      StreamDelta rest = parser_->finish();
      d.content += rest.content;
      for (ToolCallDelta& c : rest.tool_calls) d.tool_calls.push_back(std::move(c));
    }
  } else {
    output_ += text;
    if (finished) d = finish_forced();
  }
  num_calls_ += static_cast<int>(d.tool_calls.size());
  if (finished && num_calls_ > 0 && *finish_reason == "stop") *finish_reason = "tool_calls";
  return d;
}

}  // namespace pdserve::router
