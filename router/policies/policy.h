// The routing seam: a Policy picks the decode worker D and (optionally) the
// prefill worker P for one request from a WorkerSnapshot. Only healthy
// workers of the request's model that are not in `exclude` are candidates.
//
//   auto policy = make_policy(flag_value);          // Result<std::unique_ptr<Policy>>
//   RouteRequest rr{model, prompt_len, index.match(ids, salt), {}, true};
//   Result<Choice> c = (*policy)->choose(rr, registry.snapshot());
//   // sending failed before the request started: retry elsewhere
//   rr.exclude.push_back(c->decode.id);  c = (*policy)->choose(rr, registry.snapshot());
//
// choose() fails with kUnavailable when no decode worker is a candidate; a
// missing prefill worker is not an error (Choice::prefill is empty: D
// prefills locally). Implementations are thread-safe (choose may run on
// every io thread at once).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "router/prefix_index.h"
#include "router/worker_registry.h"

namespace pdserve::router {

struct RouteRequest {
  std::string model;  // "": any model
  int num_prompt_tokens = 0;
  std::vector<PrefixMatch> prefix_matches;  // PrefixIndex::match(); only prefix_aware reads it
  std::vector<std::string> exclude;         // worker ids already tried for this request
  bool want_prefill = true;                 // false: never pick P
};

struct Choice {
  WorkerView decode;
  std::optional<WorkerView> prefill;  // none: no candidate (or !want_prefill)
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual Result<Choice> choose(const RouteRequest& req, const WorkerSnapshot& workers) = 0;
};

struct PolicyOptions {
  // prefix_aware: score = hit - prefix_load_weight * relative load (prefix_aware.h).
  double prefix_load_weight = 0.5;
};

// "round_robin", "least_load", "prefix_aware"; anything else is
// kInvalidArgument listing the names.
Result<std::unique_ptr<Policy>> make_policy(std::string_view name,
                                            const PolicyOptions& options = {});

// The load a policy compares: max(waiting + running as last polled, the
// router's own in-flight count), so a burst between two polls still spreads.
int worker_load(const WorkerView& w);

}  // namespace pdserve::router
