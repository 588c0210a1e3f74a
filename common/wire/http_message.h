// Request and Response: the plain values a handler reads and returns. No
// Beast types: the server and the client convert at their edges.
//
// Headers keep insertion order and look names up case-insensitively
// (RFC 9110: field names are case-insensitive). Values are kept as sent.
// None of these types is thread-safe; each is owned by one handler at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pdserve::server {

// ASCII case-insensitive equality (header names, tokens like "chunked").
bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Adds a field; an existing field of the same name is kept (repeatable fields).
  void add(std::string name, std::string value);
  // Replaces every field of this name with one field.
  void set(std::string name, std::string value);
  void remove(std::string_view name);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

struct Request {
  std::string method;  // "GET", "POST", ... as sent (upper case by convention)
  std::string target;  // request target as sent: "/v1/models?x=1"
  std::string path;    // target up to '?', not percent-decoded
  std::string query;   // after '?', empty when none
  Headers headers;
  std::string body;
  std::string remote_address;  // peer "ip:port"
  std::chrono::steady_clock::time_point received_at{};

  // The value of query parameter `name` (first occurrence, percent-decoded), or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;

  static Response text(int status, std::string body);
  static Response json(int status, std::string body);
};

// "OK", "Not Found", ...; "Unknown" for codes this table lacks.
std::string_view reason_phrase(int status);

// Splits a request target into path and query at the first '?'.
void split_target(std::string_view target, std::string* path, std::string* query);

// Decodes %XX and '+' (as space) in a query component; malformed escapes are kept as-is.
std::string percent_decode(std::string_view in);

}  // namespace pdserve::server
