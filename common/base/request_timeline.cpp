#include "common/base/request_timeline.h"

#include <chrono>

#include "common/base/logging.h"

namespace pdserve {
namespace {

int64_t now_unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milestones are info lines in the json format (made to be collected) and
// debug lines in the text one (a few per request would drown a terminal).
void log_milestone(std::string_view process, std::string_view id, const Milestone& m) {
  const LogLevel level = log_format() == LogFormat::kJson ? LogLevel::kInfo : LogLevel::kDebug;
  if (level < log_level()) return;
  std::string json = "\"request_id\":\"" + json_escape(id) + "\",\"process\":\"" +
                     json_escape(process) + "\",\"event\":\"" + json_escape(m.event) + '"';
  std::string text = "request_id=" + std::string(id);
  for (const MilestoneField& f : m.fields) {
    json += ",\"" + json_escape(f.key) + "\":";
    text += ' ' + f.key + '=';
    if (const int64_t* n = std::get_if<int64_t>(&f.value)) {
      json += std::to_string(*n);
      text += std::to_string(*n);
    } else {
      const std::string& s = std::get<std::string>(f.value);
      json += '"' + json_escape(s) + '"';
      text += s;
    }
  }
  log_fields(level, __FILE__, __LINE__, m.event, json, text);
}

}  // namespace

RequestTimeline::RequestTimeline(std::string process, size_t max_requests)
    : process_(std::move(process)), max_requests_(max_requests > 0 ? max_requests : 1) {}

void RequestTimeline::record(std::string_view request_id, std::string_view event,
                             std::vector<MilestoneField> fields) {
  if (request_id.empty()) return;
  Milestone m{process_, std::string(event), now_unix_us(), std::move(fields)};
  log_milestone(process_, request_id, m);
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = by_id_.try_emplace(std::string(request_id));
  if (fresh) {
    order_.push_back(it->first);
    if (order_.size() > max_requests_) {
      by_id_.erase(order_.front());
      order_.pop_front();
    }
  }
  if (it->second.size() < kMaxMilestonesPerRequest) it->second.push_back(std::move(m));
}

std::vector<Milestone> RequestTimeline::get(std::string_view request_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_id_.find(std::string(request_id));
  return it == by_id_.end() ? std::vector<Milestone>{} : it->second;
}

std::vector<Milestone> RequestTimeline::get_choices(std::string_view request_id, int n) const {
  std::vector<Milestone> out;
  for (int i = 0; i < n; ++i) {
    for (Milestone& m : get(std::string(request_id) + "-" + std::to_string(i))) {
      m.fields.push_back({"choice", int64_t{i}});
      out.push_back(std::move(m));
    }
  }
  return out;
}

}  // namespace pdserve
