// One process's milestones of recent requests (received, routed, queued,
// prefill start/end, KV transfer start/end, first token, finished), keyed by
// the cluster's request id: each record is also logged as one line (with
// --log-format json an info line, one object with "request_id", "process",
// "event" and the fields; with text a debug line), and the last `max_requests` requests stay
// queryable, for the router's /debug/requests/{id}, which joins every process's view.
//
//   RequestTimeline timeline("decode");
//   timeline.record(id, "kv_transfer_end", {{"bytes", int64_t{4096}}});
//   std::vector<Milestone> m = timeline.get(id);   // in record order
//
// Thread-safe; a record takes one short lock (a few per request, never per
// token).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace pdserve {

struct MilestoneField {
  std::string key;
  std::variant<int64_t, std::string> value;
};

struct Milestone {
  std::string process;  // "router", "decode", "prefill"
  std::string event;
  int64_t unix_us = 0;  // wall clock: the processes of one machine compare
  std::vector<MilestoneField> fields;
};

class RequestTimeline {
 public:
  static constexpr size_t kDefaultMaxRequests = 4096;
  static constexpr size_t kMaxMilestonesPerRequest = 64;

  explicit RequestTimeline(std::string process, size_t max_requests = kDefaultMaxRequests);

  // An empty id records nothing (a request from a path that has none).
  void record(std::string_view request_id, std::string_view event,
              std::vector<MilestoneField> fields = {});
  std::vector<Milestone> get(std::string_view request_id) const;
  // The milestones of a request's choices as the workers know them (ids
  // "<id>-0" .. "<id>-<n-1>"), each with a "choice" field, in choice order.
  std::vector<Milestone> get_choices(std::string_view request_id, int n) const;
  const std::string& process() const { return process_; }

 private:
  const std::string process_;
  const size_t max_requests_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<Milestone>> by_id_;
  std::deque<std::string> order_;  // ids, oldest first
};

}  // namespace pdserve
