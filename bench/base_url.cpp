#include "bench/base_url.h"

#include <charconv>
#include <string>

namespace pdserve::bench {

Result<BaseUrl> parse_base_url(std::string_view url) {
  const std::string shown(url);
  auto bad = [&](const std::string& why) {
    return invalid_argument("--base-url " + shown + ": " + why);
  };
  if (url.starts_with("https://"))
    return bad("https is not supported (plain HTTP only); use an http:// URL");
  if (!url.starts_with("http://")) return bad("expected http://host[:port][/prefix]");
  url.remove_prefix(7);
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  BaseUrl b;
  if (slash != std::string_view::npos) b.prefix = std::string(url.substr(slash));
  while (!b.prefix.empty() && b.prefix.back() == '/') b.prefix.pop_back();
  if (b.prefix.find_first_of("?#") != std::string::npos) return bad("no query or fragment allowed");
  std::string_view host = authority;
  std::string_view port;
  if (authority.starts_with('[')) {  // [::1]:8000
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return bad("expected ':port' after the host");
      port = rest.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  if (authority.find('@') != std::string_view::npos)
    return bad("user info is not supported; give the key with --api-key");
  b.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return bad("port '" + std::string(port) + "' is not a number in 1..65535");
    b.port = static_cast<uint16_t>(value);
  }
  return b;
}

}  // namespace pdserve::bench
