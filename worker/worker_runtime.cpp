#include "worker/worker_runtime.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "common/server/auth.h"
#include "common/wire/openai_error.h"
#include "common/wire/timeline_json.h"

namespace pdserve::worker {

struct WorkerRuntime::Gauges {
  server::Gauge waiting, running, awaiting_kv, pinned, kv_usage, free_blocks, total_blocks;
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
      gauges_(std::make_unique<Gauges>()),
      request_metrics_(*metrics_, config_.model_name),
      timeline_(config_.role) {
  // vLLM's names and labels (see request_metrics.h); pdserve's own as pdserve:*.
  const server::MetricLabels model{{"model_name", config_.model_name}};
  server::MetricsRegistry& m = *metrics_;
  Gauges& g = *gauges_;
  g.waiting =
      m.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", model);
  g.running =
      m.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", model);
  g.awaiting_kv =
      m.gauge("pdserve:num_requests_awaiting_kv",
              "Requests whose prompt a prefill worker is computing (decode role)", model);
  g.pinned = m.gauge("pdserve:num_requests_pinned",
                     "Prefilled requests whose KV is being sent (prefill role)", model);
  g.kv_usage =
      m.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", model);
  g.free_blocks = m.gauge("pdserve:kv_blocks_free", "KV blocks free or evictable", model);
  g.total_blocks = m.gauge("pdserve:kv_blocks_capacity", "KV blocks in the pool", model);
  g.query_tokens = m.counter("vllm:prefix_cache_queries_total",
                             "Prefix cache queries, in terms of number of queried tokens.", model);
  g.hit_tokens = m.counter("vllm:prefix_cache_hits_total",
                           "Prefix cache hits, in terms of number of cached tokens.", model);
  g.preemptions = m.counter("vllm:num_preemptions_total",
                            "Cumulative number of preemption from the engine.", model);
  m.gauge("pdserve:worker_info", "This worker's role (value 1)",
          {{"model_name", config_.model_name}, {"role", config_.role}})
      .set(1);
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
  rt->metrics_
      ->gauge("vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
              {{"block_size", std::to_string(rt->runner_->block_size())},
               {"num_gpu_blocks", std::to_string(eng->stats().kv.num_blocks)},
               {"enable_prefix_caching",
                engine_config.scheduler.enable_prefix_caching ? "True" : "False"}})
      .set(1);
  rt->loop_ = std::make_unique<engine::EngineLoop>(
      std::move(eng), [self](engine::Engine& e) { self->on_step(e); },
      [self](const scheduler::RequestOutput& o) { self->request_metrics_.observe(o); });
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
  g.awaiting_kv.set(s.num_remote_kv);
  g.pinned.set(s.num_pinned);
  const int num_free = s.kv.num_free + s.kv.num_cached_free;
  g.kv_usage.set(s.kv.num_blocks > 0 ? 1.0 - static_cast<double>(num_free) / s.kv.num_blocks : 0.0);
  g.free_blocks.set(num_free);
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
  // /health and /livez alike: the engine loop is not stuck (so /livez is
  // every process's liveness path).
  server::mount_health(routes, heartbeat_.probe(config_.stuck_after));
  server::mount_health(routes, heartbeat_.probe(config_.stuck_after), "/livez");
  server::mount_metrics(routes, metrics_);
  routes.add("GET", "/internal/v1/state",
             [this](const server::Request& req) {
               uint64_t since = 0;
               if (auto v = req.query_param("since")) {
                 try {
                   since = std::stoull(*v);
                 } catch (...) {
                   return server::openai_error(400, "since: not a cursor", {}, "since");
                 }
               }
               return server::Response::json(200, server::internal::to_json(state(since)));
             },
             {.check = server::cluster_token_check(config_.cluster_token),
              .max_body_bytes = server::kControlBodyBytes});
  // One request's milestones here (the router joins every process's).
  routes.add_prefix(
      "GET", server::internal::kRequestTimelinePath,
      [this](const server::Request& req) {
        std::string id =
            req.path.substr(std::string_view(server::internal::kRequestTimelinePath).size());
        int choices = 1;
        if (auto v = req.query_param("choices")) {
          choices = std::atoi(v->c_str());
          if (choices < 1 || choices > server::internal::kMaxTimelineChoices) {
            return server::openai_error(400, "choices: 1 to 128", {}, "choices");
          }
        }
        return server::Response::json(
            200, server::internal::timeline_to_json(id, timeline_.get_choices(id, choices)));
      },
      {.check = server::cluster_token_check(config_.cluster_token),
       .max_body_bytes = server::kControlBodyBytes});
}

}  // namespace pdserve::worker
