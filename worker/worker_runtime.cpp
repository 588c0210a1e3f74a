#include "worker/worker_runtime.h"

#include <string>
#include <vector>

#include "common/server/auth.h"
#include "common/wire/openai_error.h"

namespace pdserve::worker {

struct WorkerRuntime::Gauges {
  server::Gauge waiting, running, free_blocks, total_blocks;
  server::Counter query_tokens, hit_tokens, preemptions;
  int64_t last_query = 0, last_hit = 0, last_preemptions = 0;
};

// vLLM's names; a draft is one step's proposals for one request.
struct WorkerRuntime::SpecCounters {
  server::Counter drafts, draft_tokens, accepted_tokens;
  std::vector<server::Counter> accepted_per_pos;
  scheduler::SpecDecodeStats last;
};

WorkerRuntime::WorkerRuntime(WorkerConfig config, std::unique_ptr<runner::LlmRunner> runner)
    : config_(std::move(config)),
      runner_(std::move(runner)),
      metrics_(std::make_shared<server::MetricsRegistry>()),
      gauges_(std::make_unique<Gauges>()) {
  const server::MetricLabels role{{"role", config_.role}};
  server::MetricsRegistry& m = *metrics_;
  gauges_->waiting = m.gauge("pdserve_worker_requests_waiting", "Requests waiting", role);
  gauges_->running = m.gauge("pdserve_worker_requests_running", "Requests running", role);
  gauges_->free_blocks =
      m.gauge("pdserve_worker_kv_blocks_free", "KV blocks free or evictable", role);
  gauges_->total_blocks = m.gauge("pdserve_worker_kv_blocks_total", "KV blocks in the pool", role);
  gauges_->query_tokens = m.counter("pdserve_worker_prefix_cache_queries_total",
                                    "Prompt tokens looked up in the prefix cache", role);
  gauges_->hit_tokens = m.counter("pdserve_worker_prefix_cache_hits_total",
                                  "Prompt tokens found in the prefix cache", role);
  gauges_->preemptions = m.counter("pdserve_worker_preemptions_total", "Requests preempted", role);
}

Result<std::unique_ptr<WorkerRuntime>> WorkerRuntime::create(
    WorkerConfig config, std::unique_ptr<runner::LlmRunner> runner,
    const engine::EngineConfig& engine_config) {
  if (config.role != "prefill" && config.role != "decode") {
    return invalid_argument("worker role '" + config.role + "' (prefill or decode)");
  }
  if (config.cluster_token.empty()) return invalid_argument("a cluster token is required");
  std::unique_ptr<WorkerRuntime> rt(new WorkerRuntime(std::move(config), std::move(runner)));
  runner::ModelRunner* engine_runner =
      rt->config_.engine_runner ? rt->config_.engine_runner.get() : rt->runner_.get();
  PD_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> eng,
                      engine::Engine::create(engine_config, engine_runner));
  const int num_speculative_tokens = engine_config.scheduler.num_speculative_tokens;
  if (num_speculative_tokens > 0) rt->add_spec_counters(num_speculative_tokens);
  WorkerRuntime* self = rt.get();
  rt->loop_ = std::make_unique<engine::EngineLoop>(std::move(eng),
                                                   [self](engine::Engine& e) { self->on_step(e); });
  return rt;
}

void WorkerRuntime::add_spec_counters(int num_speculative_tokens) {
  server::MetricsRegistry& m = *metrics_;
  spec_counters_ = std::make_unique<SpecCounters>();
  SpecCounters& c = *spec_counters_;
  c.drafts = m.counter("vllm:spec_decode_num_drafts_total", "Speculative decoding drafts");
  c.draft_tokens =
      m.counter("vllm:spec_decode_num_draft_tokens_total", "Speculative decoding proposed tokens");
  c.accepted_tokens = m.counter("vllm:spec_decode_num_accepted_tokens_total",
                                "Speculative decoding accepted tokens");
  for (int pos = 0; pos < num_speculative_tokens; ++pos) {
    c.accepted_per_pos.push_back(m.counter("vllm:spec_decode_num_accepted_tokens_per_pos_total",
                                           "Speculative decoding accepted tokens per position",
                                           {{"position", std::to_string(pos)}}));
  }
}

WorkerRuntime::~WorkerRuntime() {
  if (loop_) loop_->stop();
  loop_.reset();
}

void WorkerRuntime::on_step(engine::Engine& engine) {
  heartbeat_.beat();
  const scheduler::SchedulerStats s = engine.stats();
  heartbeat_.set_pending(static_cast<size_t>(s.num_waiting + s.num_running));
  events_.append(engine.take_kv_events());
  Gauges& g = *gauges_;
  g.waiting.set(s.num_waiting);
  g.running.set(s.num_running);
  g.free_blocks.set(s.kv.num_free + s.kv.num_cached_free);
  g.total_blocks.set(s.kv.num_blocks);
  g.query_tokens.inc(static_cast<double>(s.prefix_cache.num_query_tokens - g.last_query));
  g.hit_tokens.inc(static_cast<double>(s.prefix_cache.num_hit_tokens - g.last_hit));
  g.preemptions.inc(static_cast<double>(s.num_preemptions - g.last_preemptions));
  g.last_query = s.prefix_cache.num_query_tokens;
  g.last_hit = s.prefix_cache.num_hit_tokens;
  g.last_preemptions = s.num_preemptions;
  if (spec_counters_) {
    SpecCounters& c = *spec_counters_;
    const scheduler::SpecDecodeStats& d = s.spec_decode;
    c.drafts.inc(static_cast<double>(d.num_drafts - c.last.num_drafts));
    c.draft_tokens.inc(static_cast<double>(d.num_draft_tokens - c.last.num_draft_tokens));
    c.accepted_tokens.inc(static_cast<double>(d.num_accepted_tokens - c.last.num_accepted_tokens));
    c.last.num_accepted_tokens_per_pos.resize(d.num_accepted_tokens_per_pos.size(), 0);
    for (size_t i = 0; i < d.num_accepted_tokens_per_pos.size() && i < c.accepted_per_pos.size();
         ++i) {
      c.accepted_per_pos[i].inc(static_cast<double>(d.num_accepted_tokens_per_pos[i] -
                                                    c.last.num_accepted_tokens_per_pos[i]));
    }
    c.last = d;
  }
}

server::internal::WorkerState WorkerRuntime::state(uint64_t since) const {
  const scheduler::SchedulerStats s = loop_->stats();
  server::internal::WorkerState st;
  st.role = config_.role;
  st.model = config_.model_name;
  st.block_size = runner_->block_size();
  st.load.num_waiting = s.num_waiting;
  st.load.num_running = s.num_running + s.num_remote_kv + s.num_pinned;
  st.load.num_free_blocks = s.kv.num_free + s.kv.num_cached_free;
  st.load.num_total_blocks = s.kv.num_blocks;
  KvEventLog::Slice slice = events_.since(since);
  st.event_cursor = slice.cursor;
  st.events = std::move(slice.events);
  st.events_truncated = slice.truncated;
  st.cached = std::move(slice.cached);
  return st;
}

void WorkerRuntime::mount(server::Routes& routes) {
  server::mount_health(routes, heartbeat_.probe(config_.stuck_after));
  server::mount_metrics(routes, metrics_);
  routes.add("GET", "/internal/v1/state",
             server::require_cluster_token(
                 config_.cluster_token, server::to_handler([this](const server::Request& req) {
                   uint64_t since = 0;
                   if (auto v = req.query_param("since")) {
                     try {
                       since = std::stoull(*v);
                     } catch (...) {
                       return server::openai_error(400, "since: not a cursor", {}, "since");
                     }
                   }
                   return server::Response::json(200, server::internal::to_json(state(since)));
                 })));
}

}  // namespace pdserve::worker
