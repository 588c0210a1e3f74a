#include "common/base/request_fault.h"

#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace pdserve {

Result<int64_t> parse_request_fault(std::string_view name, std::string_view text) {
  int64_t at = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), at);
  if (ec != std::errc() || end != text.data() + text.size() || at < 1) {
    return invalid_argument(std::string(name) + " '" + std::string(text) +
                            "': expected a request count n >= 1");
  }
  return at;
}

Result<int64_t> request_fault_from_env(const char* name) {
  const char* env = std::getenv(name);
  if (env == nullptr || *env == '\0') return int64_t{0};
  return parse_request_fault(name, env);
}

void RequestFault::maybe_throw() {
  if (at_ > 0 && num_calls_.fetch_add(1) + 1 == at_) {
    throw std::runtime_error("injected request fault (" + name_ + ")");
  }
}

}  // namespace pdserve
