#include "router/policies/least_load.h"
#include "router/policies/policy.h"
#include "router/policies/prefix_aware.h"
#include "router/policies/round_robin.h"

namespace pdserve::router {

Result<std::unique_ptr<Policy>> make_policy(std::string_view name, const PolicyOptions& options) {
  if (name == "round_robin") return std::unique_ptr<Policy>(std::make_unique<RoundRobinPolicy>());
  if (name == "least_load") return std::unique_ptr<Policy>(std::make_unique<LeastLoadPolicy>());
  if (name == "prefix_aware") {
    if (!(options.prefix_load_weight >= 0))
      return invalid_argument("prefix_load_weight must be >= 0");
    return std::unique_ptr<Policy>(std::make_unique<PrefixAwarePolicy>(options.prefix_load_weight));
  }
  return invalid_argument("unknown routing policy '" + std::string(name) +
                          "' (known: round_robin, least_load, prefix_aware)");
}

}  // namespace pdserve::router
