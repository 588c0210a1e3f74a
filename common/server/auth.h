// Request authentication helpers, all comparisons in constant time.
//
// Internal endpoints (/internal/*) require the shared cluster token:
//   routes.add("POST", "/internal/prefill", require_cluster_token(token, handler));
// The public API optionally requires one of several API keys (none
// configured: open, as OpenAI-compatible servers do without --api-key):
//   auto keys = std::make_shared<const ApiKeys>(std::vector<std::string>{"sk-a", "sk-b"});
//   routes.add("POST", "/v1/completions", require_api_key(keys, handler));
// Both read "Authorization: Bearer <secret>" and answer 401 with an
// OpenAI-shaped error and "WWW-Authenticate: Bearer" when it does not match.
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

// Handlers that answer 401 unless the check passes, and call `inner` otherwise.
Handler require_cluster_token(std::string token, Handler inner);
Handler require_api_key(std::shared_ptr<const ApiKeys> keys, Handler inner);

}  // namespace pdserve::server
