#include "decode_worker/generate_service.h"

#include <string>
#include <utility>

#include "common/base/logging.h"
#include "common/server/auth.h"
#include "common/wire/internal_api.h"
#include "common/wire/openai_error.h"

namespace pdserve::decode {

namespace internal = server::internal;

struct GenerateService::Stream {
  internal::GenerateRequest req;
  std::shared_ptr<server::ResponseWriter> writer;
  std::shared_ptr<server::SseWriter> sse;  // once admitted
  std::atomic<uint64_t> engine_id{0};
  std::atomic<bool> client_gone{false};
  std::atomic<bool> in_remote_prefill{false};
  std::chrono::steady_clock::time_point remote_start;  // asked the prefill worker
  // Loop thread only.
  bool first_event = true;
  std::string location = "local";
  int num_cached_tokens = 0;

  scheduler::RequestSpec spec(uint64_t id) const { return {req, id}; }
  // Ends the stream with an error event (after admission) or answer.
  void fail(const Status& status) {
    if (!sse) {
      writer->respond(server::error_response(status));
      return;
    }
    internal::GenerateEvent ev;
    ev.error = internal::ErrorInfo{server::http_status_for(status.code()), status.message(), ""};
    (void)sse->send_event(internal::to_json(ev));
    (void)sse->send_event("[DONE]");
    sse->close();
  }
};

GenerateService::GenerateService(GenerateServiceOptions options, worker::WorkerRuntime& runtime,
                                 kvtransfer::Agent& agent, worker::KvRegions regions)
    : options_(options),
      rt_(runtime),
      agent_(agent),
      regions_(std::move(regions)),
      arrivals_(agent),
      heartbeat_(options.heartbeat_interval),
      prefill_watch_(options.heartbeat_interval, options.prefill_stall_timeout) {
  server::MetricsRegistry& m = rt_.metrics();
  remote_prefills_ =
      m.counter("pdserve:decode_prefills_total", "Prompts prefilled", {{"where", "remote"}});
  local_prefills_ =
      m.counter("pdserve:decode_prefills_total", "Prompts prefilled", {{"where", "local"}});
  remote_failures_ = m.counter("pdserve:remote_prefill_failures_total",
                               "Remote prefills or KV transfers that failed");
  fallbacks_ = m.counter("pdserve:decode_prefill_fallbacks_total",
                         "Remote prefills that failed and were done locally");
  kv_bytes_ = m.counter("pdserve:kv_transfer_bytes_total", "KV bytes received from prefill workers",
                        {{"role", "decode"}});
  remote_seconds_ =
      m.histogram("pdserve:remote_prefill_seconds",
                  "From asking a prefill worker to its KV landing here (prefill plus KV transfer)",
                  server::MetricsRegistry::exponential_buckets(0.001, 2, 18));
}

GenerateService::~GenerateService() = default;

void GenerateService::mount(server::Routes& routes) {
  routes.add("POST", "/internal/v1/generate",
             [this](server::Request req, std::shared_ptr<server::ResponseWriter> w) {
               handle(std::move(req), std::move(w));
             },
             {.check = server::cluster_token_check(rt_.config().cluster_token)});
}

void GenerateService::handle(server::Request request,
                             std::shared_ptr<server::ResponseWriter> writer) {
  Result<internal::GenerateRequest> req = internal::parse_generate_request(request.body);
  if (!req.ok()) {
    writer->respond(server::error_response(req.status()));
    return;
  }
  auto s = std::make_shared<Stream>();
  s->req = std::move(req).value();
  s->writer = std::move(writer);
  rt_.loop().run_async([this, s](engine::Engine* eng) { admit(s, eng); });
}

engine::EngineLoop::Sink GenerateService::sink_for(std::shared_ptr<Stream> s) {
  return [this, s](Result<scheduler::RequestOutput> out) {
    if (!out.ok()) {
      s->fail(out.status());
      return;
    }
    if (out->finish_reason == scheduler::FinishReason::kError) {
      // The engine logged why; the client hears only that it failed.
      s->fail(internal_error("the model failed while running this request"));
      return;
    }
    internal::GenerateEvent ev;
    for (const runner::SampledToken& t : out->new_tokens) {
      ev.token_ids.push_back(t.token_id);
      if (s->req.sampling.num_logprobs >= 0) ev.logprobs.push_back({t.logprob, t.top});
    }
    const int prompt_len = static_cast<int>(s->req.prompt_ids.size());
    if (s->first_event) {
      s->first_event = false;
      ev.num_prompt_tokens = prompt_len;
      ev.num_cached_tokens = s->num_cached_tokens;
      ev.prefill_location = s->location;
    }
    if (out->finished) {
      ev.finish_reason = std::string(scheduler::finish_reason_name(out->finish_reason));
      ev.stop_token_id = out->stop_token_id;
      ev.num_prompt_tokens = prompt_len;
      ev.num_cached_tokens = s->num_cached_tokens;
    }
    Status sent = s->sse->send_event(internal::to_json(ev));
    if (!sent.ok() && !out->finished) {
      // The client cannot keep up (or is gone): end the request.
      rt_.loop().abort(s->engine_id.load());
      return;
    }
    if (out->finished) {
      (void)s->sse->send_event("[DONE]");
      s->sse->close();
    }
  };
}

void GenerateService::admit(std::shared_ptr<Stream> s, engine::Engine* eng) {
  if (eng == nullptr) {
    s->fail(unavailable("decode worker is stopping"));
    return;
  }
  const uint64_t id = rt_.next_request_id();
  scheduler::RequestSpec spec = s->spec(id);
  PrefillInputs in;
  in.mode = s->req.prefill_mode;
  in.has_prefill_worker = s->req.prefill.has_value();
  in.prompt_len = static_cast<int>(spec.prompt_ids.size());
  in.num_cached_tokens = eng->num_cached_prefix_tokens(spec);
  if (decide_prefill(options_.policy, in) == PrefillPlace::kLocal) {
    add_locally(s, *eng);
    return;
  }
  Result<scheduler::RemotePrefillAllocation> alloc = eng->allocate_for_remote_prefill(spec);
  if (!alloc.ok()) {
    s->fail(alloc.status());
    return;
  }
  s->engine_id = id;
  s->location = "remote";
  s->num_cached_tokens = alloc->num_cached_tokens;
  rt_.loop().attach_sink(id, sink_for(s));
  if (!open_stream(s)) {  // the client is gone already
    rt_.loop().detach_sink(id);
    (void)eng->abort(id);
    return;
  }
  s->in_remote_prefill = true;
  prefill_remotely(s, std::move(alloc).value());
}

bool GenerateService::open_stream(const std::shared_ptr<Stream>& s) {
  if (s->sse) return true;  // a local retry after a remote prefill failed
  s->sse = s->writer->start_sse();
  if (!s->sse) return false;
  heartbeat_.add(s->sse);
  std::weak_ptr<Stream> weak = s;
  s->sse->on_disconnect([this, weak] {
    std::shared_ptr<Stream> st = weak.lock();
    if (!st) return;
    st->client_gone = true;
    // A remote prefill may still write into the blocks: they are freed once
    // the prefill worker answered (on_prefill_answer).
    if (!st->in_remote_prefill) rt_.loop().abort(st->engine_id.load());
  });
  return true;
}

void GenerateService::add_locally(std::shared_ptr<Stream> s, engine::Engine& eng) {
  const uint64_t id = rt_.next_request_id();
  Status added = eng.add_request(s->spec(id));
  if (!added.ok()) {
    s->fail(added);
    return;
  }
  s->engine_id = id;
  s->location = "local";
  local_prefills_.inc();
  rt_.loop().attach_sink(id, sink_for(s));
  if (!open_stream(s)) {  // the client is gone already
    rt_.loop().detach_sink(id);
    (void)eng.abort(id);
  }
}

void GenerateService::prefill_remotely(std::shared_ptr<Stream> s,
                                       scheduler::RemotePrefillAllocation alloc) {
  internal::PrefillRequest pr{s->req, s->req.request_id};
  pr.target.agent_metadata = agent_.metadata();
  pr.target.compat_key = regions_.compat_key;
  pr.target.layer_regions = regions_.layer_regions;
  pr.target.block_bytes = regions_.block_bytes;
  pr.target.block_ids = std::move(alloc.block_ids);
  pr.target.first_block = alloc.num_cached_tokens / regions_.block_size;
  pr.target.epoch = s->engine_id.load();
  pr.deadline_ms = options_.prefill_timeout.count();
  // P may write exactly these blocks, for this epoch, until the transfer ends
  // (KvArrivals::forget revokes the grant on every path).
  const std::vector<kvtransfer::GrantRange> ranges = worker::destination_ranges(
      regions_, pr.target.block_ids, static_cast<size_t>(pr.target.first_block));
  if (!ranges.empty()) {
    Status granted = agent_.grant(pr.target.epoch, ranges, kvtransfer::GrantScope::kFirstPeer);
    if (!granted.ok()) {
      fall_back(s, granted.with_context("granting the prefill's KV blocks"));
      return;
    }
  }
  server::ClientRequest creq = server::ClientRequest::post_json(
      s->req.prefill->host, s->req.prefill->port, "/internal/v1/prefill", internal::to_json(pr));
  creq.headers.set("Authorization", "Bearer " + rt_.config().cluster_token);
  creq.read_timeout = options_.prefill_timeout + std::chrono::seconds(5);
  s->remote_start = std::chrono::steady_clock::now();
  const uint64_t watch = prefill_watch_.watch(s->req.prefill->host, s->req.prefill->port,
                                              [this, s](const Status& why) { fall_back(s, why); });
  client_.send_async(std::move(creq), [this, s, watch](Result<server::ClientResponse> answer) {
    if (prefill_watch_.finish(watch)) on_prefill_answer(s, std::move(answer));
  });
}

void GenerateService::on_prefill_answer(std::shared_ptr<Stream> s,
                                        Result<server::ClientResponse> answer) {
  Status why;
  internal::PrefillResponse resp;
  if (!answer.ok()) {
    why = answer.status();
  } else if (answer->status != 200) {
    why = unavailable("prefill worker answered " + std::to_string(answer->status) + ": " +
                      answer->body.substr(0, 300));
  } else {
    Result<internal::PrefillResponse> parsed = internal::parse_prefill_response(answer->body);
    if (!parsed.ok()) {
      why = parsed.status();
    } else if (parsed->error) {
      why = unavailable("prefill worker: " + parsed->error->message);
    } else {
      resp = std::move(parsed).value();
    }
  }
  const uint64_t epoch = s->engine_id.load();
  if (s->client_gone) {
    arrivals_.forget(epoch);
    s->in_remote_prefill = false;
    rt_.loop().abort(epoch);
    return;
  }
  if (!why.ok()) {
    fall_back(s, why);
    return;
  }
  auto landed = [this, s, resp, epoch](Status status) {
    arrivals_.forget(epoch);  // the transfer ended: its grant goes
    if (!status.ok()) {
      fall_back(s, status);
      return;
    }
    remote_prefills_.inc();
    kv_bytes_.inc(static_cast<double>(resp.bytes_transferred));
    remote_seconds_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s->remote_start).count());
    runner::SampledToken first = resp.first_token;
    first.seq_id = s->engine_id.load();
    start_decode(s, std::move(first));
  };
  if (resp.bytes_transferred == 0) {  // every block was cached here: no notification comes
    landed(ok_status());
  } else {
    arrivals_.expect(epoch, options_.arrival_timeout, std::move(landed));
  }
}

void GenerateService::start_decode(std::shared_ptr<Stream> s, runner::SampledToken first) {
  s->in_remote_prefill = false;
  if (s->client_gone) {
    rt_.loop().abort(s->engine_id.load());
    return;
  }
  rt_.loop().run_async([this, s, first](engine::Engine* eng) {
    if (eng == nullptr) return;  // the loop ended the request already
    Status started = eng->start_decode(s->engine_id.load(), first);
    if (!started.ok() && eng->request_state(s->engine_id.load())) {
      rt_.loop().detach_sink(s->engine_id.load());
      (void)eng->abort(s->engine_id.load());
      s->fail(started);
    }
  });
}

void GenerateService::fall_back(std::shared_ptr<Stream> s, const Status& why) {
  const uint64_t old_id = s->engine_id.load();
  arrivals_.forget(old_id);  // a late write of this epoch is dropped
  s->in_remote_prefill = false;
  remote_failures_.inc();
  PD_LOG(WARN) << "request " << s->req.request_id << ": remote prefill failed (" << why.to_string()
               << ")" << (options_.policy.fallback_to_local ? "; prefilling locally" : "");
  rt_.loop().run_async([this, s, why, old_id](engine::Engine* eng) {
    if (eng == nullptr) return;
    if (!eng->request_state(old_id)) return;  // already ended (aborted, engine stopping)
    rt_.loop().detach_sink(old_id);
    (void)eng->abort(old_id);
    if (!options_.policy.fallback_to_local || s->client_gone) {
      s->fail(unavailable("remote prefill failed: " + why.message()));
      return;
    }
    fallbacks_.inc();
    add_locally(s, *eng);
  });
}

}  // namespace pdserve::decode
