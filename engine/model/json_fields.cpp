#include "engine/model/json_fields.h"

#include <cmath>
#include <utility>

namespace pdserve::model {

Result<nlohmann::json> parse_json_text(const std::string& text, const std::string& file) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument(file + ": invalid JSON: " + e.what());
  }
}

namespace {

constexpr size_t kExcerptLen = 60;
constexpr int kExcerptDepth = 4;

std::string dump_scalar(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// dump()'s compact form, but only down to kExcerptDepth levels and only
// until the text is long enough: dump() recurses once per level, and a
// value nested a million deep in a config file would overflow the stack.
void append_excerpt(const nlohmann::json& value, int depth, std::string& out) {
  if (!value.is_structured()) {
    out += dump_scalar(value);
    return;
  }
  const bool is_array = value.is_array();
  if (depth >= kExcerptDepth && !value.empty()) {
    out += is_array ? "[...]" : "{...}";
    return;
  }
  out += is_array ? '[' : '{';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() <= kExcerptLen; ++it) {
    if (!first) out += ',';
    first = false;
    if (!is_array) out += dump_scalar(nlohmann::json(it.key())) + ":";
    append_excerpt(*it, depth + 1, out);
  }
  out += is_array ? ']' : '}';
}

}  // namespace

std::string json_excerpt(const nlohmann::json& value) {
  std::string text;
  append_excerpt(value, 0, text);
  if (text.size() > kExcerptLen) text = text.substr(0, kExcerptLen) + "...";
  return text;
}

std::string json_quote(std::string_view text) {
  constexpr size_t kMaxLen = 200;
  std::string cut(text.substr(0, kMaxLen));
  std::string quoted =
      nlohmann::json(cut).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > kMaxLen) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

std::optional<int64_t> json_as_int(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(v);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    double d = value.get<double>();
    // 2^63 is exactly representable; values at or past it do not fit.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.2233720368547758e18) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string file, std::string prefix)
    : object_(&object), file_(std::move(file)), prefix_(std::move(prefix)) {}

const nlohmann::json* JsonFields::find(std::string_view key) const {
  if (!object_->is_object()) return nullptr;
  auto it = object_->find(std::string(key));
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::contains(std::string_view key) const {
  return object_->is_object() && object_->contains(std::string(key));
}

Status JsonFields::error(std::string_view key, std::string_view what) const {
  return invalid_argument(file_ + ": \"" + prefix_ + std::string(key) + "\" " + std::string(what));
}

Result<std::optional<int64_t>> JsonFields::optional_int(std::string_view key, int64_t min,
                                                        int64_t max) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::optional<int64_t>();
  std::optional<int64_t> i = json_as_int(*v);
  if (!i || *i < min || *i > max) {
    return error(key, "must be an integer in [" + std::to_string(min) + ", " +
                          std::to_string(max) + "], got " + json_excerpt(*v));
  }
  return i;
}

Result<int64_t> JsonFields::required_int(std::string_view key, int64_t min, int64_t max) const {
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> v, optional_int(key, min, max));
  if (!v) return error(key, "is missing");
  return *v;
}

Result<std::optional<double>> JsonFields::optional_number(std::string_view key) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number() || !std::isfinite(v->get<double>())) {
    return error(key, "must be a number, got " + json_excerpt(*v));
  }
  return std::optional<double>(v->get<double>());
}

Result<double> JsonFields::number_or(std::string_view key, double fallback) const {
  PD_ASSIGN_OR_RETURN(std::optional<double> v, optional_number(key));
  return v.value_or(fallback);
}

Result<bool> JsonFields::bool_or(std::string_view key, bool fallback) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) return error(key, "must be true or false, got " + json_excerpt(*v));
  return v->get<bool>();
}

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return error(key, "must be a string, got " + json_excerpt(*v));
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<JsonFields>> JsonFields::optional_object(std::string_view key) const {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return std::optional<JsonFields>();
  if (!v->is_object()) return error(key, "must be an object, got " + json_excerpt(*v));
  return std::optional<JsonFields>(JsonFields(*v, file_, prefix_ + std::string(key) + "."));
}

}  // namespace pdserve::model
