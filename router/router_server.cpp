#include "router/router_server.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>

#include "common/base/logging.h"
#include "common/base/text_file.h"
#include "common/server/auth.h"
#include "common/server/http_client.h"
#include "common/server/http_server.h"
#include "common/server/metrics.h"
#include "common/wire/http_message.h"
#include "common/wire/internal_api.h"
#include "common/wire/openai_error.h"
#include "router/cluster_health.h"
#include "router/completion_handler.h"
#include "router/policies/policy.h"
#include "router/prefix_index.h"
#include "router/timeline_view.h"
#include "router/tokenize_api.h"
#include "router/worker_health_metrics.h"
#include "router/worker_poller.h"
#include "router/worker_registry.h"
#include "tokenizer/chat_template/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::router {

namespace {

// GET /v1/models/{id}: the model's id follows this prefix.
constexpr std::string_view kModelPathPrefix = "/v1/models/";

// As the engine's limit on config.json.
constexpr size_t kMaxConfigJsonBytes = size_t{16} << 20;

// The model's context length: config.json's max_position_embeddings.
Result<int> model_context_length(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  PD_ASSIGN_OR_RETURN(std::string text, read_text_file(path, kMaxConfigJsonBytes, path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument(path + ": not a JSON object");
  auto it = j.find("max_position_embeddings");
  if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 1) {
    return invalid_argument(path + ": max_position_embeddings missing or not a positive integer");
  }
  return static_cast<int>(std::min<int64_t>(it->get<int64_t>(), 1 << 24));
}

// --chat-template-content-format: nullopt for "auto".
Result<std::optional<ContentFormat>> content_format_option(std::string_view name) {
  if (name == "auto") return std::optional<ContentFormat>();
  if (name == "string") return std::optional<ContentFormat>(ContentFormat::kString);
  if (name == "openai") return std::optional<ContentFormat>(ContentFormat::kOpenAi);
  return invalid_argument("--chat-template-content-format must be auto, string or openai, got '" +
                          std::string(name) + "'");
}

const char* content_format_name(ContentFormat f) {
  return f == ContentFormat::kOpenAi ? "openai" : "string";
}

server::Response api_error_response(const ApiError& e) {
  return server::Response::json(e.http_status, to_error_body(e));
}

}  // namespace

struct RouterServer::Impl {
  RouterOptions options;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
  std::optional<chat_template::ChatTemplate> chat_template;
  std::optional<chat_template::ChatTemplate> tool_use_template;
  ServedModel model;
  WorkerRegistry registry;
  PrefixIndex prefix_index;
  std::unique_ptr<Policy> policy;
  std::shared_ptr<server::MetricsRegistry> metrics = std::make_shared<server::MetricsRegistry>();
  RetryTimer retry_timer;  // before client: stopped in stop(), before anything it may call
  std::unique_ptr<server::HttpClient> client;  // to the decode workers
  RequestTimeline timeline{"router"};
  RouterContext ctx;
  std::unique_ptr<TimelineView> timeline_view;
  std::unique_ptr<CompletionHandler> completions;
  std::unique_ptr<WorkerHealthMetrics> health;  // poller thread only
  std::unique_ptr<WorkerPoller> poller;
  std::unique_ptr<server::Server> server;

  Status load_model();
  Status add_workers();
  server::Routes routes();
  server::Response tokenize(const server::Request& req) const;
  server::Response detokenize(const server::Request& req) const;
  server::Response register_worker(const server::Request& req);
};

Status RouterServer::Impl::load_model() {
  PD_ASSIGN_OR_RETURN(tokenizer,
                      tokenizer::Tokenizer::from_file(options.model_dir + "/tokenizer.json"));
  PD_ASSIGN_OR_RETURN(chat_template::ChatTemplateConfig cfg,
                      chat_template::load_chat_template_config(options.model_dir));
  if (!cfg.chat_template.empty()) {
    PD_ASSIGN_OR_RETURN(chat_template::ChatTemplate t,
                        chat_template::ChatTemplate::compile(cfg.chat_template));
    chat_template.emplace(std::move(t));
  }
  if (auto tool_use = cfg.named_templates.find("tool_use"); tool_use != cfg.named_templates.end()) {
    Result<chat_template::ChatTemplate> t = chat_template::ChatTemplate::compile(tool_use->second);
    if (!t.ok()) return t.status().with_context("the tokenizer's tool_use chat template");
    tool_use_template.emplace(std::move(t).value());
  }
  model.name = options.served_model_name.empty()
                   ? std::filesystem::path(options.model_dir).filename().string()
                   : options.served_model_name;
  if (options.max_model_len > 0) {
    model.max_model_len = options.max_model_len;
  } else {
    PD_ASSIGN_OR_RETURN(model.max_model_len, model_context_length(options.model_dir));
  }
  model.tokenizer = tokenizer.get();
  model.chat_template = chat_template ? &*chat_template : nullptr;
  model.tool_use_template = tool_use_template ? &*tool_use_template : nullptr;
  model.special_tokens_json = cfg.special_tokens_json;
  if (!options.tool_calls.parser.empty()) {
    Result<ToolCallParser> parser = ToolCallParser::create(options.tool_calls.parser);
    if (!parser.ok()) return parser.status().with_context("--tool-call-parser");
  }
  model.tool_calls = options.tool_calls;
  PD_ASSIGN_OR_RETURN(model.content_format,
                      content_format_option(options.chat_template_content_format));
  for (const chat_template::ChatTemplate* t : {model.chat_template, model.tool_use_template}) {
    if (t == nullptr) continue;
    PD_LOG(INFO) << (t == model.tool_use_template ? "tool_use" : "default")
                 << " chat template: content format "
                 << content_format_name(model.content_format.value_or(t->content_format()))
                 << (model.content_format ? " (--chat-template-content-format)" : " (detected)");
  }
  return ok_status();
}

Status RouterServer::Impl::add_workers() {
  // No static decode worker: they must register (POST /internal/v1/register);
  // /health is unhealthy until one did.
  for (const std::string& w : options.decode_workers) {
    PD_RETURN_IF_ERROR(
        registry.add_static(WorkerRole::kDecode, w, model.name).with_context("--decode"));
  }
  for (const std::string& w : options.prefill_workers) {
    PD_RETURN_IF_ERROR(
        registry.add_static(WorkerRole::kPrefill, w, model.name).with_context("--prefill"));
  }
  return ok_status();
}

server::Response RouterServer::Impl::tokenize(const server::Request& req) const {
  ApiResult<TokenizeRequest> r = parse_tokenize_request(req.body, options.limits);
  if (!r.ok()) return api_error_response(r.error());
  const TokenizeRequest& t = r.value();
  if (!t.model.empty() && t.model != model.name)
    return api_error_response(model_not_found(t.model));
  std::string text = t.prompt;
  if (t.is_chat) {
    ApiResult<std::string> rendered = model.render_chat(t.chat);
    if (!rendered.ok()) return api_error_response(rendered.error());
    text = std::move(rendered).value();
  }
  tokenizer::EncodeOptions enc;
  enc.add_special_tokens = t.add_special_tokens;
  Result<std::vector<int32_t>> ids = tokenizer->encode(text, enc);
  if (!ids.ok()) return api_error_response(api_error_from_status(ids.status(), "prompt"));
  return server::Response::json(200, tokenize_response(*ids, model.max_model_len));
}

server::Response RouterServer::Impl::detokenize(const server::Request& req) const {
  ApiResult<DetokenizeRequest> r = parse_detokenize_request(req.body, options.limits);
  if (!r.ok()) return api_error_response(r.error());
  if (!r.value().model.empty() && r.value().model != model.name) {
    return api_error_response(model_not_found(r.value().model));
  }
  Result<std::string> text = tokenizer->decode(r.value().tokens, false);
  if (!text.ok()) return api_error_response(api_error_from_status(text.status(), "tokens"));
  return server::Response::json(200, detokenize_response(*text));
}

server::Response RouterServer::Impl::register_worker(const server::Request& req) {
  Result<server::internal::Registration> r = server::internal::parse_registration(req.body);
  if (!r.ok()) return server::error_response(r.status());
  Result<bool> fresh = registry.heartbeat(*r, WorkerRegistry::Clock::now());
  if (!fresh.ok()) return server::error_response(fresh.status());
  if (*fresh) prefix_index.remove_worker(worker_id(r->address));
  return server::Response::json(200, "{}");
}

server::Routes RouterServer::Impl::routes() {
  server::Routes r;
  auto keys = std::make_shared<const server::ApiKeys>(options.api_keys);
  // The API: prompts may be long (the server's body limit); GETs carry none.
  const server::RouteOptions api{.check = server::api_key_check(keys)};
  const server::RouteOptions api_get{.check = server::api_key_check(keys),
                                     .max_body_bytes = server::kControlBodyBytes};
  // Readiness (/health: a decode worker can take requests, see
  // cluster_health) and liveness (/livez: the polling loop turns).
  server::mount_health(
      r, [this] { return poller->alive(); }, "/livez");
  r.add("GET", "/health",
        [this](const server::Request&) {
          ClusterHealth h = cluster_health(registry.snapshot());
          return server::Response::json(h.http_status, std::move(h.body));
        },
        {.max_body_bytes = server::kControlBodyBytes});
  r.add(
      "GET", "/metrics",
      [this](const server::Request&) {
        server::Response resp = server::Response::text(200, metrics->render());
        resp.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return resp;
      },
      api_get);
  r.add(
      "GET", "/v1/models",
      [this](const server::Request&) {
        return server::Response::json(200, models_response({{model.name, 0, model.max_model_len}}));
      },
      api_get);
  // The served model by id (the rest of the path, which may hold '/'); any
  // other id is OpenAI's 404 model_not_found.
  r.add_prefix(
      "GET", std::string(kModelPathPrefix),
      [this](const server::Request& q) {
        const std::string id = server::percent_decode(q.path.substr(kModelPathPrefix.size()));
        if (id != model.name) return api_error_response(model_not_found(id));
        return server::Response::json(200, model_response({model.name, 0, model.max_model_len}));
      },
      api_get);
  auto generate = [this](Endpoint e) {
    return [this, e](server::Request req, std::shared_ptr<server::ResponseWriter> w) {
      completions->handle(e, std::move(req), std::move(w));
    };
  };
  r.add("POST", "/v1/completions", generate(Endpoint::kCompletions), api);
  r.add("POST", "/v1/chat/completions", generate(Endpoint::kChatCompletions), api);
  r.add_prefix(
      "GET", kDebugRequestsPath,
      [this](server::Request q, std::shared_ptr<server::ResponseWriter> w) {
        timeline_view->handle(q, std::move(w));
      },
      api_get);
  r.add(
      "POST", "/tokenize", [this](const server::Request& q) { return tokenize(q); }, api);
  r.add(
      "POST", "/detokenize", [this](const server::Request& q) { return detokenize(q); }, api);
  r.add("POST", "/internal/v1/register",
        [this](const server::Request& q) { return register_worker(q); },
        {.check = server::cluster_token_check(options.cluster_token),
         .max_body_bytes = server::kControlBodyBytes});
  return r;
}

Result<std::unique_ptr<RouterServer>> RouterServer::start(RouterOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  Impl& m = *impl;
  if (m.options.cluster_token.empty()) return invalid_argument("a cluster token is required");
  if (m.options.prefill_mode != "auto" && m.options.prefill_mode != "remote" &&
      m.options.prefill_mode != "local") {
    return invalid_argument("--prefill-mode '" + m.options.prefill_mode +
                            "' (auto, remote or local)");
  }
  PD_RETURN_IF_ERROR(m.load_model());
  PD_RETURN_IF_ERROR(m.add_workers());
  PD_ASSIGN_OR_RETURN(m.policy, make_policy(m.options.policy));
  const int num_threads = m.options.num_threads > 0
                              ? m.options.num_threads
                              : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  server::ClientOptions co;
  co.num_io_threads = num_threads;
  // A connection per stream in flight stays open for the next one: no
  // connect per request to a decode worker (the pool's default keeps 8).
  co.max_idle_per_host = static_cast<size_t>(m.options.max_connections);
  m.client = std::make_unique<server::HttpClient>(co);
  m.ctx = RouterContext{
      m.tokenizer.get(),        &m.registry,    &m.prefix_index,         m.policy.get(),
      m.client.get(),           m.model.name,   m.options.cluster_token, m.options.prefill_mode,
      m.options.stream_silence, &m.retry_timer, m.options.retry_window,  &m.timeline};
  server::MetricsRegistry& reg = *m.metrics;
  RouterMetrics rm;
  // The router's own series are pdserve:router_*; the workers export vLLM's.
  rm.requests_ok =
      reg.counter("pdserve:router_requests_total", "OpenAI requests answered", {{"outcome", "ok"}});
  rm.requests_failed = reg.counter("pdserve:router_requests_total", "OpenAI requests answered",
                                   {{"outcome", "error"}});
  rm.requests_cancelled = reg.counter("pdserve:router_requests_total", "OpenAI requests answered",
                                      {{"outcome", "cancelled"}});
  rm.prompt_tokens =
      reg.counter("pdserve:router_prompt_tokens_total", "Prompt tokens of answered requests");
  rm.generation_tokens = reg.counter("pdserve:router_generation_tokens_total", "Tokens generated");
  rm.ttft = reg.histogram("pdserve:router_time_to_first_token_seconds", "Time to the first token",
                          server::MetricsRegistry::exponential_buckets(0.001, 2, 18));
  rm.e2e =
      reg.histogram("pdserve:router_e2e_request_latency_seconds", "Request latency, end to end",
                    server::MetricsRegistry::exponential_buckets(0.005, 2, 16));
  m.timeline_view =
      std::make_unique<TimelineView>(m.timeline, m.registry, *m.client, m.options.cluster_token);
  m.completions = std::make_unique<CompletionHandler>(m.ctx, m.model, m.options.limits, rm,
                                                      m.options.request_fault);
  m.health = std::make_unique<WorkerHealthMetrics>(reg);
  m.poller = std::make_unique<WorkerPoller>(
      m.registry, m.prefix_index, m.options.cluster_token, m.options.poll_interval,
      m.options.stream_silence / 2,
      [h = m.health.get()](const WorkerSnapshot& s) { h->update(s); });
  server::ServerOptions so;
  so.address = m.options.host;
  so.port = m.options.port;
  so.num_io_threads = num_threads;
  so.max_connections = m.options.max_connections;
  so.listen_backlog = std::max(so.listen_backlog, m.options.max_connections);
  // A token's chunk goes to the client from the HTTP client's io thread that
  // read the decode worker's event: no hand-off to the client connection's
  // io thread per token (docs/PERFORMANCE.md, issue 19).
  so.producer_sends = true;
  PD_ASSIGN_OR_RETURN(m.server, server::Server::start(so, m.routes()));
  return std::unique_ptr<RouterServer>(new RouterServer(std::move(impl)));
}

RouterServer::RouterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RouterServer::~RouterServer() {
  stop(std::chrono::milliseconds(0));
}

uint16_t RouterServer::port() const {
  return impl_->server->port();
}

void RouterServer::stop(std::chrono::milliseconds grace) {
  // Requests first (refused from now on, the running ones get `grace`, the
  // rest end with an error event), then the connections.
  if (impl_->completions) {
    const size_t ended = impl_->completions->drain(std::chrono::steady_clock::now() + grace);
    if (ended > 0) {
      PD_LOG(WARN) << "shutting down: ended " << ended << " request(s) still running after "
                   << grace.count() << " ms with an error event";
    }
  }
  impl_->retry_timer.stop();  // a choice still waiting for a worker was ended above
  if (impl_->server) impl_->server->stop(InflightCalls::kEndWait);
  impl_->poller.reset();
}

}  // namespace pdserve::router
