#include "router/worker_poller.h"

#include "common/wire/internal_api.h"

namespace pdserve::router {
namespace {

// The state route is answered by the worker's io threads, never behind its
// engine, so a busy worker still answers well within the deadline.
server::ClientOptions poll_client_options(std::chrono::milliseconds stall_deadline) {
  server::ClientOptions o;
  o.connect_timeout = stall_deadline;
  o.read_timeout = stall_deadline;
  o.write_timeout = stall_deadline;
  return o;
}

// The longest a healthy loop goes without a beat: one poll at its timeouts
// plus the wait between rounds, with a margin.
std::chrono::milliseconds max_silence(std::chrono::milliseconds interval,
                                      std::chrono::milliseconds stall_deadline) {
  return 2 * stall_deadline + interval + std::chrono::seconds(10);
}

}  // namespace

WorkerPoller::WorkerPoller(WorkerRegistry& registry, PrefixIndex& index, std::string cluster_token,
                           std::chrono::milliseconds interval,
                           std::chrono::milliseconds stall_deadline, AfterPoll after_poll)
    : registry_(registry),
      index_(index),
      token_(std::move(cluster_token)),
      interval_(interval),
      after_poll_(std::move(after_poll)),
      max_silence_(max_silence(interval, stall_deadline)),
      client_(poll_client_options(stall_deadline)),
      thread_([this] { run(); }) {
  beat_.set_pending(1);  // the loop always has work: silence means stuck
}

WorkerPoller::~WorkerPoller() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WorkerPoller::poll_once() {
  for (const std::string& gone : registry_.expire(WorkerRegistry::Clock::now())) {
    index_.remove_worker(gone);
  }
  for (const WorkerView& w : registry_.snapshot().workers) {
    beat_.beat();
    server::ClientRequest req = server::ClientRequest::get(
        w.address.host, w.address.port,
        "/internal/v1/state?since=" + std::to_string(index_.cursor(w.id)));
    req.headers.set("Authorization", "Bearer " + token_);
    Result<server::ClientResponse> r = client_.send(std::move(req));
    if (!r.ok() && r.status().code() == StatusCode::kDeadlineExceeded) {
      registry_.mark_stalled(w.id);
      continue;
    }
    if (!r.ok() || r->status != 200) {
      registry_.record_poll_failure(w.id);
      continue;
    }
    Result<server::internal::WorkerState> state = server::internal::parse_worker_state(r->body);
    if (!state.ok()) {
      registry_.record_poll_failure(w.id);
      continue;
    }
    registry_.record_poll(w.id, *state);
    index_.apply(w.id, *state);
  }
  if (after_poll_) after_poll_(registry_.snapshot());
  beat_.beat();
}

Status WorkerPoller::alive() const {
  return beat_.check(max_silence_);
}

void WorkerPoller::run() {
  for (;;) {
    poll_once();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace pdserve::router
