#include "router/internal/json_reader.h"

#include <cmath>

namespace pdserve::router::detail {
namespace {

// Nesting depth of JSON text, skipping strings; stops early past `limit`.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) max_depth = depth;
      if (max_depth > limit) return max_depth;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::string fmt(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

ApiResult<json> parse_body(std::string_view body, int max_depth) {
  if (nesting_depth(body, max_depth) > max_depth)
    return invalid_request(
        "", "the request body is nested deeper than " + std::to_string(max_depth) + " levels");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_request("", "the request body is not valid JSON");
  if (!j.is_object()) return invalid_request("", "the request body must be a JSON object");
  return j;
}

std::string_view type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::object: return "an object";
    case json::value_t::array: return "an array";
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

FieldReader::FieldReader(const json& obj, std::string prefix)
    : obj_(obj), prefix_(std::move(prefix)) {}

std::string FieldReader::param(std::string_view key) const {
  return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
}

const json* FieldReader::find(std::string_view key) const {
  if (!obj_.is_object()) return nullptr;
  auto it = obj_.find(key);
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::fail(std::string param, std::string message) {
  if (!error_) error_ = invalid_request(std::move(param), std::move(message));
}

void FieldReader::fail_type(std::string_view key, std::string_view expected) {
  const json* j = find(key);
  const std::string p = param(key);
  fail(p, "'" + p + "' must be " + std::string(expected) + ", got " +
              std::string(j ? type_name(*j) : "null"));
}

void FieldReader::get_bool(std::string_view key, bool& out) {
  const json* j = find(key);
  if (!ok() || !j) return;
  if (!j->is_boolean()) return fail_type(key, "a boolean");
  out = j->get<bool>();
}

void FieldReader::get_string(std::string_view key, std::string& out) {
  const json* j = find(key);
  if (!ok() || !j) return;
  if (!j->is_string()) return fail_type(key, "a string");
  out = j->get<std::string>();
}

void FieldReader::get_int(std::string_view key, int64_t lo, int64_t hi,
                          std::optional<int64_t>& out) {
  const json* j = find(key);
  if (!ok() || !j) return;
  const std::string p = param(key);
  const std::string range =
      "'" + p + "' must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (j->is_number_integer() || j->is_number_unsigned()) {
    if (j->is_number_unsigned() && j->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return fail(p, range + ", got " + dump(*j));
    const int64_t v = j->get<int64_t>();
    if (v < lo || v > hi) return fail(p, range + ", got " + std::to_string(v));
    out = v;
  } else if (j->is_number_float()) {
    const double v = j->get<double>();
    if (!std::isfinite(v) || v != std::floor(v)) return fail_type(key, "an integer");
    if (v < static_cast<double>(lo) || v > static_cast<double>(hi))
      return fail(p, range + ", got " + fmt(v));
    out = static_cast<int64_t>(v);
  } else {
    fail_type(key, "an integer");
  }
}

void FieldReader::get_int(std::string_view key, int64_t lo, int64_t hi, int& out) {
  std::optional<int64_t> v;
  get_int(key, lo, hi, v);
  if (v) out = static_cast<int>(*v);
}

void FieldReader::get_float(std::string_view key, double lo, double hi, bool lo_open, float& out) {
  const json* j = find(key);
  if (!ok() || !j) return;
  if (!j->is_number()) return fail_type(key, "a number");
  const double v = j->get<double>();
  const bool in = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
  if (!in) {
    const std::string p = param(key);
    return fail(p, "'" + p + "' must be in " + (lo_open ? "(" : "[") + fmt(lo) + ", " + fmt(hi) +
                       "], got " + fmt(v));
  }
  out = static_cast<float>(v);
}

const json* FieldReader::get_object(std::string_view key) {
  const json* j = find(key);
  if (!ok() || !j) return nullptr;
  if (!j->is_object()) {
    fail_type(key, "an object");
    return nullptr;
  }
  return j;
}

const json* FieldReader::get_array(std::string_view key) {
  const json* j = find(key);
  if (!ok() || !j) return nullptr;
  if (!j->is_array()) {
    fail_type(key, "an array");
    return nullptr;
  }
  return j;
}

}  // namespace pdserve::router::detail
