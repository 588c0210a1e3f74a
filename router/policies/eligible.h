// Private to router/policies: candidate filtering shared by the policies.
#pragma once

#include <vector>

#include "router/policies/policy.h"

namespace pdserve::router::policies {

// Healthy workers of `role` serving req.model (a worker whose model is not
// known yet serves any), not excluded; in snapshot (id) order.
std::vector<const WorkerView*> candidates(const RouteRequest& req, const WorkerSnapshot& s,
                                          WorkerRole role);

// kUnavailable naming the model and how many were excluded.
Status no_decode_worker(const RouteRequest& req);

// Tokens of the prompt that worker `id` holds (0 when not in req.prefix_matches).
int matched_tokens(const RouteRequest& req, std::string_view id);

}  // namespace pdserve::router::policies
