// The wire form of a request's milestones (RequestTimeline), as a worker
// answers GET /internal/v1/requests/{id} and the router answers
// GET /debug/requests/{id}:
//
//   {"request_id":"abc","milestones":[
//     {"process":"router","event":"received","time_us":1796654688123456},
//     {"process":"prefill","event":"kv_transfer_end","time_us":...,"bytes":4096}, ...]}
//
// A milestone's fields sit beside process, event and time_us (integers or
// strings). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/base/request_timeline.h"
#include "common/base/status.h"

namespace pdserve::server::internal {

// GET kRequestTimelinePath + id + "?choices=N" on a worker (cluster token):
// the milestones of the request's N choices there (RequestTimeline::get_choices).
inline constexpr const char* kRequestTimelinePath = "/internal/v1/requests/";
inline constexpr int kMaxTimelineChoices = 128;

// `unreachable` (the router's join): the workers that did not answer, as a
// member "unreachable"; null leaves the member out (a worker's answer).
std::string timeline_to_json(std::string_view request_id, const std::vector<Milestone>& milestones,
                             const std::vector<std::string>* unreachable = nullptr);
// The milestones of a timeline_to_json() body; an error names what is wrong.
Result<std::vector<Milestone>> parse_timeline(std::string_view body);

}  // namespace pdserve::server::internal
