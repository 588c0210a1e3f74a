#include "bench/replay_upstream.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "common/server/auth.h"
#include "common/server/http_server.h"
#include "common/wire/internal_api.h"
#include "common/wire/openai_error.h"

namespace pdserve::bench {

namespace internal = server::internal;

namespace {

// The server's own limits must not be what the benchmark measures.
constexpr int kMaxConnections = 20'000;

// One replayed request: where its events go and when each one went.
struct ReplayStream {
  std::string request_id;
  int max_tokens = 0;
  int num_logprobs = -1;
  int num_prompt_tokens = 0;
  size_t group_idx = 0;  // the part of the step it gets its tokens in
  std::shared_ptr<server::SseWriter> sse;
  std::vector<ReplayUpstream::Clock::time_point> sent_at;
};

}  // namespace

class ReplayUpstream::Impl {
 public:
  explicit Impl(ReplayOptions options) : options_(std::move(options)) {}

  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (pacer_.joinable()) pacer_.join();
    if (server_) server_->stop(std::chrono::seconds(1));
  }

  Status start() {
    server::Routes routes;
    routes.add("POST", "/internal/v1/generate",
               [this](server::Request req, std::shared_ptr<server::ResponseWriter> w) {
                 generate(req, std::move(w));
               },
               {.check = server::cluster_token_check(options_.cluster_token)});
    routes.add("GET", "/internal/v1/state",
               [this](const server::Request&) {
                 internal::WorkerState s;
                 s.role = "decode";
                 s.model = options_.model;
                 s.block_size = 16;
                 return server::Response::json(200, internal::to_json(s));
               },
               {.check = server::cluster_token_check(options_.cluster_token),
                .max_body_bytes = server::kControlBodyBytes});
    server::ServerOptions so;
    so.port = 0;
    so.num_io_threads = 2;
    so.max_connections = kMaxConnections;
    so.listen_backlog = kMaxConnections;  // the router connects a stream's worth at once
    so.producer_sends = true;             // an event's send time is its write to the socket
    PD_ASSIGN_OR_RETURN(server_, server::Server::start(so, std::move(routes)));
    pacer_ = std::thread([this] { pace(); });
    return ok_status();
  }

  uint16_t port() const { return server_->port(); }

  std::vector<Clock::time_point> send_times(const std::string& request_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = records_.find(request_id);
    return it == records_.end() ? std::vector<Clock::time_point>() : it->second;
  }

  size_t num_generate_connections() const {
    std::lock_guard<std::mutex> lock(mu_);
    return generate_peers_.size();
  }

  void clear_records() {
    std::lock_guard<std::mutex> lock(mu_);
    records_.clear();
    generate_peers_.clear();
  }

 private:
  void generate(const server::Request& request, std::shared_ptr<server::ResponseWriter> w) {
    Result<internal::GenerateRequest> req = internal::parse_generate_request(request.body);
    if (!req.ok()) {
      w->respond(server::error_response(req.status()));
      return;
    }
    auto s = std::make_shared<ReplayStream>();
    s->request_id = req->request_id;
    s->max_tokens = req->sampling.max_tokens;
    s->num_logprobs = req->sampling.num_logprobs;
    s->num_prompt_tokens = static_cast<int>(req->prompt_ids.size());
    s->sent_at.reserve(static_cast<size_t>(s->max_tokens));
    s->sse = w->start_sse();
    if (!s->sse) return;
    std::lock_guard<std::mutex> lock(mu_);
    s->group_idx = next_group_idx_++ % static_cast<size_t>(options_.num_step_groups);
    generate_peers_.insert(request.remote_address);
    active_.push_back(std::move(s));
  }

  // The event carrying token number `k` of a stream.
  internal::GenerateEvent event(const ReplayStream& s, size_t k) const {
    const std::vector<int32_t>& ids = options_.token_ids;
    internal::GenerateEvent ev;
    ev.token_ids.push_back(ids[k % ids.size()]);
    if (s.num_logprobs >= 0) {
      internal::TokenLogprobs lp{-0.25f, {}};
      for (int j = 0; j < s.num_logprobs; ++j)
        lp.top.push_back({ids[(k + static_cast<size_t>(j)) % ids.size()], -0.25f * (j + 1)});
      ev.logprobs.push_back(std::move(lp));
    }
    if (k == 0) {
      ev.num_prompt_tokens = s.num_prompt_tokens;
      ev.prefill_location = "local";
    }
    if (static_cast<int>(k) + 1 == s.max_tokens) {
      ev.finish_reason = "length";
      ev.num_prompt_tokens = s.num_prompt_tokens;
    }
    return ev;
  }

  // One group's part of a decode step: one token to each of its open streams.
  void step(std::vector<std::shared_ptr<ReplayStream>>& streams, size_t group_idx) {
    for (auto& s : streams) {
      if (s->group_idx != group_idx) continue;
      const size_t k = s->sent_at.size();
      const bool last = static_cast<int>(k) + 1 == s->max_tokens;
      const std::string json = internal::to_json(event(*s, k));
      const bool sent = last ? send_last(*s, json) : send(*s, json);
      if (sent && last) (void)s->sse->send_event("[DONE]");
      if (!sent && !last) keep_record(*s);
      if (!sent || last) {
        s->sse->close();
        s.reset();
      }
    }
    std::erase(streams, nullptr);
  }

  // Writes one event, noting the moment it was handed to the socket: taken
  // before the write, so that a client woken by the write never sees its
  // chunk "before" it was sent (taken after, a preempted writer gave
  // negative latencies under load).
  bool send(ReplayStream& s, const std::string& json) {
    s.sent_at.push_back(Clock::now());
    return s.sse->send_event(json).ok();
  }

  // The last event: its record is kept before anyone can ask for it (the
  // client may see the end as soon as the event is out).
  bool send_last(ReplayStream& s, const std::string& json) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool sent = send(s, json);
    records_[s.request_id] = std::move(s.sent_at);
    return sent;
  }

  void keep_record(ReplayStream& s) {
    std::lock_guard<std::mutex> lock(mu_);
    records_[s.request_id] = std::move(s.sent_at);
  }

  void pace() {
    std::vector<std::shared_ptr<ReplayStream>> streams;
    const size_t num_groups = static_cast<size_t>(options_.num_step_groups);
    const auto group_interval = options_.step_interval / options_.num_step_groups;
    Clock::time_point next = Clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    for (size_t g = 0;; g = (g + 1) % num_groups) {
      next += group_interval;
      if (cv_.wait_until(lock, next, [this] { return stopping_; })) return;
      for (auto& s : active_) streams.push_back(std::move(s));
      active_.clear();
      lock.unlock();
      step(streams, g);
      lock.lock();
      // Fell behind (an overloaded machine): no burst of catch-up steps.
      next = std::max(next, Clock::now() - group_interval);
    }
  }

  const ReplayOptions options_;
  std::unique_ptr<server::Server> server_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<std::shared_ptr<ReplayStream>> active_;  // new streams, not yet paced
  size_t next_group_idx_ = 0;
  std::unordered_map<std::string, std::vector<Clock::time_point>> records_;
  std::unordered_set<std::string> generate_peers_;  // "host:port" of each connection used
  std::thread pacer_;
};

Result<std::unique_ptr<ReplayUpstream>> ReplayUpstream::start(ReplayOptions options) {
  if (options.token_ids.empty()) return invalid_argument("replay upstream: no token ids");
  if (options.num_step_groups < 1 ||
      options.step_interval / options.num_step_groups < std::chrono::microseconds(1))
    return invalid_argument("replay upstream: step groups must be at least 1 and 1 us apart");
  auto impl = std::make_unique<Impl>(std::move(options));
  PD_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<ReplayUpstream>(new ReplayUpstream(std::move(impl)));
}

ReplayUpstream::ReplayUpstream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ReplayUpstream::~ReplayUpstream() = default;

uint16_t ReplayUpstream::port() const {
  return impl_->port();
}

std::vector<ReplayUpstream::Clock::time_point> ReplayUpstream::send_times(
    const std::string& request_id) const {
  return impl_->send_times(request_id);
}

size_t ReplayUpstream::num_generate_connections() const {
  return impl_->num_generate_connections();
}

void ReplayUpstream::clear_records() {
  impl_->clear_records();
}

}  // namespace pdserve::bench
