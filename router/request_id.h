// A request's id across the cluster: the client's X-Request-Id when it sent a
// usable one, else one the router makes. The router echoes it in the
// X-Request-Id response header and sends it (with the choice index) to the
// decode worker, which hands it to the prefill worker.
//
//   ApiResult<std::string> id = request_id(request.headers, [] { return random_hex(24); });
//   if (!id.ok()) reply 400 (an id that is too long or holds other characters).
//
// Pure function, thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "common/wire/http_message.h"
#include "router/api_error.h"

namespace pdserve::router {

inline constexpr const char* kRequestIdHeader = "X-Request-Id";
inline constexpr size_t kMaxRequestIdLength = 128;

// 1 to kMaxRequestIdLength of A-Z a-z 0-9 . _ : -
bool valid_request_id(std::string_view id);

// The client's X-Request-Id (1 to kMaxRequestIdLength of A-Z a-z 0-9 . _ : -)
// or, when it sent none, make_id(); a 400 naming the header otherwise.
ApiResult<std::string> request_id(const server::Headers& headers,
                                  const std::function<std::string()>& make_id);

}  // namespace pdserve::router
