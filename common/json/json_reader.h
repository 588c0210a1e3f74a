// The one typed reader for JSON objects, shared by every floor that reads
// JSON: the router's request bodies, the internal API, config.json and
// tokenizer.json. Each read checks the type and the bounds of one field and
// words a problem as one line naming it, `<source>: <name> <problem>`:
//
//   'top_p' must be in (0, 1], got 1.5                      (Naming::request())
//   config.json: "hidden_size" must be an integer in [1, 2147483647], got -3
//   tokenizer.json: normalizer.prepend must be a string, got 3
//
// A field that is absent or JSON null reads as absent. Two ways to read:
// one call one answer (Result<...>, for files), or a run of get_* calls that
// keep the first problem and do nothing after it (for request bodies).
//
// Two JSON types, each reader and helper works on both: Json (nlohmann::json,
// keys sorted, for files and the internal API) and OrderedJson (keys in the
// order the text has them, for request bodies whose order the client means:
// tools and schemas reach templates and the constrained decoder as written).
//
// This header carries nlohmann::json: include it from .cpp files (and
// private headers of one module) only, never from a module's public header.
// Thread-compatible: a reader is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base/status.h"

namespace pdserve::json_reader {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

// The nesting depth of JSON text, strings skipped; stops counting past `limit`.
int nesting_depth(std::string_view text, int limit);

// Parses text without exceptions; nullopt when it is not JSON or is nested
// deeper than max_depth (checked first, so deep input cannot exhaust the stack).
template <class J>
struct BasicParsed {
  std::optional<J> value;
  bool too_deep = false;
};
using Parsed = BasicParsed<Json>;
Parsed parse(std::string_view text, int max_depth);
// The same, keys in the text's order, in time linear in the text (nlohmann's
// own ordered parse looks for a duplicate key through every key of the
// object: quadratic, 30 s for one object of 80k keys). A repeated key keeps
// its first place and takes its last value, as Python's json.loads.
BasicParsed<OrderedJson> parse_ordered(std::string_view text, int max_depth);
// A file's text, any depth: "<source>: invalid JSON: <where it broke>".
Result<Json> parse_file_text(std::string_view text, const std::string& source);

// "a string", "an integer", "an object", ... for messages.
template <class J>
std::string_view type_name(const J& value);
// Compact text of a value; invalid UTF-8 replaced, never throws. (A braced
// list, dump({{"k", v}}), is a Json.)
template <class J = Json>
std::string dump(const J& value);
// A short rendering of a value for messages (strings quoted, long values
// cut); it does not descend past a few levels, so any depth is safe.
template <class J>
std::string excerpt(const J& value);
// `text` as a JSON string literal, quotes included, cut past 200 characters:
// control characters come out escaped, so a message stays one line.
std::string quote(std::string_view text);
// The value as an integer when it is one (a float with an integral value
// counts), else nullopt.
template <class J>
std::optional<int64_t> as_int(const J& value);

// How a reader names a field in its messages.
struct Naming {
  std::string source;  // "config.json": messages start "config.json: "; empty: none
  char quote = 0;      // put around the field's path: '\'', '"' or 0
  bool show_values =
      true;  // a wrong type shows the value ("got \"64\"") or its type ("got a string")

  static Naming request() { return {"", '\'', false}; }
  static Naming file(std::string name) { return {std::move(name), '"', true}; }
};

struct FieldError {
  std::string field;    // path from the outermost object: "stream_options.include_usage"
  std::string message;  // the whole line
};

// Over Json (FieldReader) or OrderedJson (OrderedFieldReader).
template <class J>
class BasicFieldReader {
 public:
  using Json = J;

  // `object` must outlive the reader. `prefix` is the path of `object`
  // itself ("rope_scaling"), put before field names.
  explicit BasicFieldReader(const Json& object, Naming naming = Naming::request(),
                            std::string prefix = {});

  // nullptr when the field is absent or null.
  const Json* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  // True when the key is there at all, null included.
  bool contains(std::string_view key) const;
  // "prefix.key", and the same as messages show it (quoted).
  std::string path(std::string_view key) const;
  std::string name(std::string_view key) const;
  const std::string& source() const { return naming_.source; }
  // `<source>: <name> <what>` as kInvalidArgument.
  Status error(std::string_view key, std::string_view what) const;

  // One call, one answer.
  Result<std::optional<int64_t>> optional_int(std::string_view key, int64_t lo, int64_t hi) const;
  Result<int64_t> required_int(std::string_view key, int64_t lo, int64_t hi) const;
  Result<std::optional<double>> optional_number(std::string_view key) const;
  Result<double> number_or(std::string_view key, double fallback) const;
  Result<bool> bool_or(std::string_view key, bool fallback) const;
  Result<std::optional<std::string>> optional_string(std::string_view key) const;
  Result<std::string> required_string(std::string_view key) const;
  // The field as a reader of its own (path prefix.key); nullopt when absent.
  Result<std::optional<BasicFieldReader>> optional_object(std::string_view key) const;

  // A run of reads: the first problem is kept and later reads do nothing.
  // Absent and null leave `out` untouched.
  bool ok() const { return !first_error_.has_value(); }
  const FieldError& first_error() const { return *first_error_; }
  // ok, or first_error's message as kInvalidArgument.
  Status status() const;

  void get_bool(std::string_view key, bool& out);
  void get_string(std::string_view key, std::string& out);
  // An integer (or a float with no fraction) in [lo, hi].
  void get_int(std::string_view key, int64_t lo, int64_t hi, std::optional<int64_t>& out);
  void get_int(std::string_view key, int64_t lo, int64_t hi, int& out);
  void get_uint64(std::string_view key, uint64_t& out);
  // A finite number in [lo, hi] ((lo, hi] when lo_open); any finite number.
  void get_float(std::string_view key, double lo, double hi, bool lo_open, float& out);
  void get_float(std::string_view key, float& out);
  // The field when it is of that kind; records a type error when present and not.
  const Json* get_object(std::string_view key);
  const Json* get_array(std::string_view key);
  // Records "<name> is missing" when the field is absent or null.
  void require(std::string_view key);

  void fail(std::string field, std::string message);
  // "<name> must be <expected>, got <the value or its type>".
  void fail_type(std::string_view key, std::string_view expected);

 private:
  std::string line(std::string_view key, std::string_view what) const;
  std::string got(const Json& value) const;
  const Json* get_kind(std::string_view key, bool (Json::*is_kind)() const noexcept,
                       std::string_view expected);
  // The problem with an integer field, or nullopt with *out set.
  std::optional<std::string> check_int(const Json& v, int64_t lo, int64_t hi, int64_t* out) const;

  const Json* object_;
  Naming naming_;
  std::string prefix_;
  std::optional<FieldError> first_error_;
};

extern template class BasicFieldReader<Json>;
extern template class BasicFieldReader<OrderedJson>;
using FieldReader = BasicFieldReader<Json>;
using OrderedFieldReader = BasicFieldReader<OrderedJson>;

}  // namespace pdserve::json_reader
