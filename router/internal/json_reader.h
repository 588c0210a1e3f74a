// Private to router/*.cpp (never included by a public header): typed, bounded
// reads of request-body fields with OpenAI-shaped errors. The first failure
// is kept; later reads are no-ops. Absent and JSON null leave `out` untouched.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "router/api_error.h"

namespace pdserve::router::detail {

using json = nlohmann::json;

// 400 when the body is not JSON, is nested deeper than max_depth, or is not an object.
ApiResult<json> parse_body(std::string_view body, int max_depth);

// "a JSON string", "an integer", ... for messages.
std::string_view type_name(const json& j);

// Text of j (invalid UTF-8 replaced; never throws).
std::string dump(const json& j);

class FieldReader {
 public:
  // `prefix` names the object in params: "stream_options" makes "stream_options.include_usage".
  explicit FieldReader(const json& obj, std::string prefix = {});

  bool ok() const { return !error_.has_value(); }
  const ApiError& error() const { return *error_; }
  std::string param(std::string_view key) const;

  // nullptr when absent or null.
  const json* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  void get_bool(std::string_view key, bool& out);
  void get_string(std::string_view key, std::string& out);
  // An integer (or a float with no fraction) in [lo, hi].
  void get_int(std::string_view key, int64_t lo, int64_t hi, std::optional<int64_t>& out);
  void get_int(std::string_view key, int64_t lo, int64_t hi, int& out);
  // A finite number in [lo, hi] ((lo, hi] when lo_open).
  void get_float(std::string_view key, double lo, double hi, bool lo_open, float& out);
  // Records a type error when the field is present and not of `kind`.
  const json* get_object(std::string_view key);
  const json* get_array(std::string_view key);

  void fail(std::string param, std::string message);
  void fail_type(std::string_view key, std::string_view expected);

 private:
  const json& obj_;
  std::string prefix_;
  std::optional<ApiError> error_;
};

}  // namespace pdserve::router::detail
