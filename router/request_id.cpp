#include "router/request_id.h"

#include <algorithm>

namespace pdserve::router {
namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

bool valid_request_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxRequestIdLength &&
         std::all_of(id.begin(), id.end(), id_char);
}

ApiResult<std::string> request_id(const server::Headers& headers,
                                  const std::function<std::string()>& make_id) {
  std::optional<std::string_view> sent = headers.get(kRequestIdHeader);
  if (!sent) return make_id();
  if (!valid_request_id(*sent)) {
    return invalid_request(kRequestIdHeader, "X-Request-Id must be 1 to " +
                                                 std::to_string(kMaxRequestIdLength) +
                                                 " characters of A-Z a-z 0-9 . _ : -");
  }
  return std::string(*sent);
}

}  // namespace pdserve::router
