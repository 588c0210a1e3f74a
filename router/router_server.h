// The router process, as an object: the model's tokenizer and chat template,
// the worker registry (workers from flags and from registrations), a poller
// that keeps their load and prefix-cache index fresh, the routing policy,
// and the public HTTP server:
//
//   GET  /v1/models, /v1/models/{id} POST /v1/completions, /v1/chat/completions
//   POST /tokenize, /detokenize     GET  /health, /metrics
//   POST /internal/v1/register      (cluster token; workers' heartbeats)
//
// API keys, when given, are required on every route except /health and the
// internal one. /health is healthy while at least one decode worker is.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "router/api_limits.h"
#include "router/tool_output.h"

namespace pdserve::router {

struct RouterOptions {
  std::string model_dir;
  std::string served_model_name;  // default: the folder's name
  std::string host = "127.0.0.1";
  uint16_t port = 8000;
  std::string cluster_token;
  std::vector<std::string> api_keys;
  std::vector<std::string> decode_workers;   // host:port
  std::vector<std::string> prefill_workers;  // host:port
  std::string policy = "least_load";
  std::string prefill_mode = "auto";  // auto, remote, local (forwarded to decode workers)
  int max_model_len = 0;              // 0: the model's max_position_embeddings
  ApiLimits limits;
  ToolCallOptions tool_calls;  // --tool-call-parser, --enable-auto-tool-choice
  // --chat-template-content-format: auto (each template's own, as vLLM
  // detects it), string or openai (ServedModel::content_format).
  std::string chat_template_content_format = "auto";
  std::chrono::milliseconds poll_interval{500};
  // RouterContext::stream_silence; half of it is the poll's stall deadline (WorkerPoller).
  std::chrono::milliseconds stream_silence{5'000};
  std::chrono::milliseconds retry_window{10'000};  // RouterContext::retry_window
  // Server and upstream-client io threads each (--threads; 0: every core).
  int num_threads = 0;
  int max_connections = 1024;  // client connections open at once (ServerOptions)
  int64_t request_fault = 0;   // PDSERVE_ROUTER_FAULT (common/base/request_fault.h); 0: off
};

class RouterServer {
 public:
  // Loads the tokenizer and chat template, checks the options, starts the
  // poller and the server. kInvalidArgument / kNotFound naming the problem.
  static Result<std::unique_ptr<RouterServer>> start(RouterOptions options);
  ~RouterServer();

  uint16_t port() const;
  // Drains (CompletionHandler::drain: new requests 503, running ones get
  // `grace`, the rest end with an error event and [DONE]), then stops serving.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  struct Impl;

 private:
  explicit RouterServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdserve::router
