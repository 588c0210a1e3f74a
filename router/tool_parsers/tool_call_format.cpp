#include "router/tool_parsers/tool_call_format.h"

#include <cctype>
#include <nlohmann/json.hpp>

namespace pdserve::router {

StartMatch find_marker(std::string_view text, std::string_view marker) {
  size_t pos = text.find(marker);
  if (pos != std::string_view::npos) return {pos, marker.size(), true};
  for (size_t len = std::min(text.size(), marker.size() - 1); len > 0; --len) {
    if (text.substr(text.size() - len) == marker.substr(0, len)) {
      return {text.size() - len, 0, false};
    }
  }
  return {};
}

size_t skip_space(std::string_view text, size_t from) {
  while (from < text.size() && std::isspace(static_cast<unsigned char>(text[from]))) ++from;
  return from;
}

Result<std::optional<size_t>> json_value_end(std::string_view text, size_t from) {
  size_t i = skip_space(text, from);
  if (i == text.size()) return std::optional<size_t>();
  if (text[i] != '{' && text[i] != '[') {
    return invalid_argument("tool call: expected a JSON object or array");
  }
  int depth = 0;
  bool in_string = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return std::optional<size_t>(i + 1);
    }
  }
  return std::optional<size_t>();
}

namespace {

Result<ToolCall> call_from_object(const nlohmann::ordered_json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) {
    return invalid_argument("tool call: expected an object with a string \"name\"");
  }
  ToolCall call;
  call.name = j["name"].get<std::string>();
  const char* key = j.contains("arguments") ? "arguments" : "parameters";
  if (!j.contains(key)) {
    call.arguments = "{}";
  } else if (j[key].is_string()) {
    call.arguments = j[key].get<std::string>();
  } else if (j[key].is_object()) {
    call.arguments = j[key].dump();
  } else {
    return invalid_argument("tool call: \"arguments\" must be an object or a JSON string");
  }
  return call;
}

}  // namespace

Result<std::vector<ToolCall>> calls_from_json(std::string_view json) {
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument("tool call: not valid JSON");
  std::vector<ToolCall> calls;
  if (!j.is_array()) j = nlohmann::ordered_json::array({j});
  for (const nlohmann::ordered_json& item : j) {
    PD_ASSIGN_OR_RETURN(ToolCall call, call_from_object(item));
    calls.push_back(std::move(call));
  }
  return calls;
}

}  // namespace pdserve::router
