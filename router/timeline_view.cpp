#include "router/timeline_view.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "common/wire/openai_error.h"
#include "common/wire/timeline_json.h"
#include "router/api_error.h"
#include "router/request_id.h"

namespace pdserve::router {
namespace {

server::Response error(const ApiError& e) {
  return server::Response::json(e.http_status, to_error_body(e));
}

// The answers of one fan-out; the last one to arrive replies.
struct Join {
  std::string id;
  std::shared_ptr<server::ResponseWriter> writer;
  std::mutex mu;
  std::vector<Milestone> milestones;
  std::vector<std::string> unreachable;
  size_t pending = 0;

  void add(const std::string& worker, const Result<server::ClientResponse>& r) {
    Result<std::vector<Milestone>> got =
        r.ok() && r->status == 200 ? server::internal::parse_timeline(r->body)
                                   : Result<std::vector<Milestone>>(unavailable("no answer"));
    std::lock_guard<std::mutex> lock(mu);
    if (got.ok()) {
      for (Milestone& m : *got) milestones.push_back(std::move(m));
    } else {
      unreachable.push_back(worker);
    }
    if (--pending == 0) reply();
  }

  void reply() {
    if (milestones.empty()) {
      writer->respond(error(ApiError{404, "no request '" + id + "' is known (recent requests only)",
                                     "not_found_error", "id", ""}));
      return;
    }
    std::stable_sort(milestones.begin(), milestones.end(),
                     [](const Milestone& a, const Milestone& b) { return a.unix_us < b.unix_us; });
    std::sort(unreachable.begin(), unreachable.end());
    writer->respond(server::Response::json(
        200, server::internal::timeline_to_json(id, milestones, &unreachable)));
  }
};

}  // namespace

TimelineView::TimelineView(const RequestTimeline& own, const WorkerRegistry& registry,
                           server::HttpClient& client, std::string cluster_token,
                           std::chrono::milliseconds worker_deadline)
    : own_(own),
      registry_(registry),
      client_(client),
      token_(std::move(cluster_token)),
      deadline_(worker_deadline) {}

void TimelineView::handle(const server::Request& request,
                          std::shared_ptr<server::ResponseWriter> writer) {
  std::string id = request.path.substr(std::string_view(kDebugRequestsPath).size());
  if (!valid_request_id(id)) {
    writer->respond(
        error(invalid_request("id", "a request id is 1 to " + std::to_string(kMaxRequestIdLength) +
                                        " characters of A-Z a-z 0-9 . _ : -")));
    return;
  }
  auto join = std::make_shared<Join>();
  join->id = id;
  join->writer = std::move(writer);
  join->milestones = own_.get(id);
  // The workers know the request by its choices' ids; the router's
  // "received" milestone says how many there were ("choices").
  int64_t choices = 1;
  for (const Milestone& m : join->milestones) {
    for (const MilestoneField& f : m.fields) {
      if (m.event == "received" && f.key == "choices" && std::holds_alternative<int64_t>(f.value))
        choices = std::get<int64_t>(f.value);
    }
  }
  choices = std::clamp<int64_t>(choices, 1, server::internal::kMaxTimelineChoices);
  for (Milestone& m : own_.get_choices(id, static_cast<int>(choices)))
    join->milestones.push_back(std::move(m));
  std::vector<WorkerView> workers = registry_.snapshot().workers;
  join->pending = workers.size() + 1;  // +1: ours, released below
  for (const WorkerView& w : workers) {
    server::ClientRequest req =
        server::ClientRequest::get(w.address.host, w.address.port,
                                   std::string(server::internal::kRequestTimelinePath) + id +
                                       "?choices=" + std::to_string(choices));
    req.headers.set("Authorization", "Bearer " + token_);
    req.read_timeout = deadline_;
    client_.send_async(std::move(req), [join, worker = w.id](Result<server::ClientResponse> r) {
      join->add(worker, r);
    });
  }
  std::lock_guard<std::mutex> lock(join->mu);
  if (--join->pending == 0) join->reply();
}

}  // namespace pdserve::router
