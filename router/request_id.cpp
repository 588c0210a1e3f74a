#include "router/request_id.h"

#include <algorithm>

namespace pdserve::router {
namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

}  // namespace

ApiResult<std::string> request_id(const server::Headers& headers,
                                  const std::function<std::string()>& make_id) {
  std::optional<std::string_view> sent = headers.get(kRequestIdHeader);
  if (!sent) return make_id();
  if (sent->empty() || sent->size() > kMaxRequestIdLength ||
      !std::all_of(sent->begin(), sent->end(), id_char)) {
    return invalid_request(kRequestIdHeader, "X-Request-Id must be 1 to " +
                                                 std::to_string(kMaxRequestIdLength) +
                                                 " characters of A-Z a-z 0-9 . _ : -");
  }
  return std::string(*sent);
}

}  // namespace pdserve::router
