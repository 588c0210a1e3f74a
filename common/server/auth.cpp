#include "common/server/auth.h"

#include <utility>

namespace pdserve::server {

bool constant_time_equals(std::string_view presented, std::string_view secret) {
  if (secret.empty()) return false;
  unsigned diff = presented.size() != secret.size() ? 1u : 0u;
  for (size_t i = 0; i < presented.size(); ++i) {
    diff |= static_cast<unsigned char>(presented[i]) ^
            static_cast<unsigned char>(secret[i % secret.size()]);
  }
  volatile unsigned result = diff;  // keep the loop whole: no early exit
  return result == 0;
}

std::optional<std::string_view> bearer_token(const Request& request) {
  std::optional<std::string_view> header = request.headers.get("Authorization");
  constexpr std::string_view kScheme = "bearer ";
  if (!header || header->size() < kScheme.size() ||
      !iequals(header->substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view token = header->substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

Status check_cluster_token(const Request& request, std::string_view token) {
  std::optional<std::string_view> presented = bearer_token(request);
  if (!presented) return unauthenticated("missing cluster token (Authorization: Bearer)");
  if (!constant_time_equals(*presented, token)) return unauthenticated("bad cluster token");
  return ok_status();
}

ApiKeys::ApiKeys(std::vector<std::string> keys) : keys_(std::move(keys)) {
  std::erase_if(keys_, [](const std::string& k) { return k.empty(); });
}

Status ApiKeys::check(const Request& request) const {
  if (keys_.empty()) return ok_status();
  std::optional<std::string_view> presented = bearer_token(request);
  if (!presented) return unauthenticated("missing API key (Authorization: Bearer)");
  bool match = false;
  for (const std::string& key : keys_) match |= constant_time_equals(*presented, key);
  if (!match) return unauthenticated("invalid API key");
  return ok_status();
}

HeaderCheck cluster_token_check(std::string token) {
  return [token = std::move(token)](const Request& req) { return check_cluster_token(req, token); };
}

HeaderCheck api_key_check(std::shared_ptr<const ApiKeys> keys) {
  return [keys = std::move(keys)](const Request& req) { return keys->check(req); };
}

}  // namespace pdserve::server
