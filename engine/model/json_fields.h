// Typed reads from a JSON object of a config file, each failure one line
// naming the file and the field: `config.json: "num_attention_heads" must be
// an integer in [1, 2147483647], got -3`. A field present with the value
// null reads as absent, as transformers treats it.
//
// Internal to engine/model: this header carries nlohmann::json and is
// included only by the module's .cpp files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/status.h"

namespace pdserve::model {

// Parses text as JSON; the message names `file` and says where it broke.
Result<nlohmann::json> parse_json_text(const std::string& text, const std::string& file);

class JsonFields {
 public:
  // `object` must outlive this. `file` prefixes messages; `prefix` is put
  // before field names ("rope_scaling." for a nested object).
  JsonFields(const nlohmann::json& object, std::string file, std::string prefix = "");

  // nullptr when the field is absent or null.
  const nlohmann::json* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // True when the key is there at all, null included.
  bool contains(std::string_view key) const;

  Result<int64_t> required_int(std::string_view key, int64_t min, int64_t max) const;
  Result<std::optional<int64_t>> optional_int(std::string_view key, int64_t min,
                                              int64_t max) const;
  // A finite number (integer or float).
  Result<std::optional<double>> optional_number(std::string_view key) const;
  Result<double> number_or(std::string_view key, double fallback) const;
  Result<bool> bool_or(std::string_view key, bool fallback) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;

  // A field that is absent, null or an object; nullopt when absent or null.
  Result<std::optional<JsonFields>> optional_object(std::string_view key) const;

  // `<file>: "<prefix><key>" <what>`.
  Status error(std::string_view key, std::string_view what) const;
  const std::string& file() const { return file_; }

 private:
  const nlohmann::json* object_;
  std::string file_;
  std::string prefix_;
};

// A short rendering of a JSON value for messages (strings quoted, long
// values cut). Safe on values nested arbitrarily deep: it does not descend
// past a few levels.
std::string json_excerpt(const nlohmann::json& value);

// `text` as a JSON string literal, quotes included, for names from untrusted
// files: control characters and newlines come out escaped, so a message stays
// one line. Cut past 200 characters.
std::string json_quote(std::string_view text);

// The value as an integer when it is one (a float with an integral value
// counts), else nullopt.
std::optional<int64_t> json_as_int(const nlohmann::json& value);

}  // namespace pdserve::model
