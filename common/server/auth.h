// Request authentication helpers, all comparisons in constant time.
//
// Internal endpoints (/internal/*) require the shared cluster token:
//   routes.add("POST", "/internal/prefill", handler, {.check = cluster_token_check(token)});
// The public API optionally requires one of several API keys (none
// configured: open, as OpenAI-compatible servers do without --api-key):
//   auto keys = std::make_shared<const ApiKeys>(std::vector<std::string>{"sk-a", "sk-b"});
//   routes.add("POST", "/v1/completions", handler, {.check = api_key_check(keys)});
// Both read "Authorization: Bearer <secret>" on the request's headers,
// before its body is read; the server answers a mismatch with 401, an
// OpenAI-shaped error and "WWW-Authenticate: Bearer" (see routes.h).
// Thread-safety: all of this is immutable after construction.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/server/routes.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

// Equality whose time depends only on presented.size(), not on where the
// strings differ nor on the secret's length. False when secret is empty.
bool constant_time_equals(std::string_view presented, std::string_view secret);

// The <secret> of "Authorization: Bearer <secret>" (scheme case-insensitive),
// or nullopt when the header is missing or another scheme.
std::optional<std::string_view> bearer_token(const Request& request);

// ok, or kUnauthenticated. An empty expected token never matches (a cluster
// without a token is a configuration error, not an open door).
Status check_cluster_token(const Request& request, std::string_view token);

class ApiKeys {
 public:
  explicit ApiKeys(std::vector<std::string> keys);
  bool empty() const { return keys_.empty(); }
  // ok when no keys are configured or the bearer matches one of them (every
  // key is compared, whatever matched); kUnauthenticated otherwise.
  Status check(const Request& request) const;

 private:
  std::vector<std::string> keys_;
};

// Header checks for RouteOptions::check.
HeaderCheck cluster_token_check(std::string token);
HeaderCheck api_key_check(std::shared_ptr<const ApiKeys> keys);

}  // namespace pdserve::server
