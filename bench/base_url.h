// `--base-url http://host[:port][/prefix]`: where the OpenAI server is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::bench {

struct BaseUrl {
  std::string host;
  uint16_t port = 80;
  std::string prefix;  // path before the endpoint, no trailing '/'; may be empty
};

// Plain http only (the client speaks no TLS): "https://" and anything not a
// URL is a one-line kInvalidArgument naming --base-url.
Result<BaseUrl> parse_base_url(std::string_view url);

}  // namespace pdserve::bench
