// POST /v1/completions and /v1/chat/completions. Each request is one
// coroutine (complete()) whose body follows this diagram top to bottom:
//
//   request id, parse, validate (model, token ids)
//   template, tokenize, check the context          ── bad ─▶ 4xx, OpenAI error
//   admit (a drain refuses: 503)
//   start every choice (prompts x n) as a ChoiceStream: choose D and P,
//     POST D/internal/v1/generate, detokenize, stop strings
//   relay: await the next event, until answered
//     a piece ─▶ stream: the SSE headers with the first one, a chunk each
//                else: collected
//     an error before anything went out ─▶ that HTTP status; after ─▶ an
//       error event, [DONE]; every other choice is cancelled
//     the client gone ─▶ every choice cancelled (aborted on the workers)
//     a drain's deadline ─▶ an error event, [DONE]
//   every choice finished ─▶ usage, [DONE]; or one JSON response
//   an exception out of the coroutine (a bug) ─▶ logged with the request id;
//     a 500 or, once streaming, an error event and [DONE]; counted as failed
//
// The HTTP status is decided by the first thing the workers say: a request
// that fails before any token (no worker, 429 overload, a bad request the
// worker refused) is answered with that status; once a stream has started,
// a failure is an error event and the stream ends. drain() (SIGTERM)
// refuses new requests with 503, lets the running ones finish until its
// deadline and ends the rest with an error event and [DONE] (InflightCalls).
// The coroutine runs on the server's io thread until it starts the choices,
// then on the HTTP client's io threads that deliver their pieces.
// Thread-safety: handle() may be called from any server io thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/base/request_fault.h"
#include "common/base/task.h"
#include "common/server/metrics.h"
#include "common/server/response_writer.h"
#include "router/api_limits.h"
#include "router/choice_stream.h"
#include "router/inflight_calls.h"
#include "router/openai_request.h"
#include "router/tool_output.h"
#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::router {

// What the router knows of the served model.
struct ServedModel {
  std::string name;
  int max_model_len = 0;
  const tokenizer::Tokenizer* tokenizer = nullptr;
  const chat_template::ChatTemplate* chat_template = nullptr;  // null: the model has none
  // The tokenizer's "tool_use" template, chosen as transformers chooses it:
  // for a request that sends tools (null: the tokenizer has none).
  const chat_template::ChatTemplate* tool_use_template = nullptr;
  std::string special_tokens_json = "{}";  // ChatTemplateConfig's, in every template context
  ToolCallOptions tool_calls;              // how tool calls are read from the output
  // --chat-template-content-format: the content format every template gets
  // (nullopt, "auto": the one each template expects, content_format()).
  std::optional<ContentFormat> content_format;

  // A chat request's prompt text: the template rendered (content shaped for
  // its content format), then cut after the final message with
  // continue_final_message. A 400 naming "messages" when
  // the model has no template or rendering fails.
  ApiResult<std::string> render_chat(const ChatInput& chat) const;
};

struct RouterMetrics {
  server::Counter requests_ok, requests_failed, requests_cancelled, prompt_tokens,
      generation_tokens;
  server::Histogram ttft, e2e;
};

class CompletionHandler {
 public:
  // `request_fault`: PDSERVE_ROUTER_FAULT's count (common/base/request_fault.h; 0: off).
  CompletionHandler(const RouterContext& ctx, const ServedModel& model, ApiLimits limits,
                    RouterMetrics metrics, int64_t request_fault)
      : ctx_(ctx),
        model_(model),
        limits_(limits),
        metrics_(metrics),
        fault_(request_fault, kRouterFaultEnv) {}

  void handle(Endpoint endpoint, server::Request request,
              std::shared_ptr<server::ResponseWriter> writer);
  // See above; returns how many requests had to be ended.
  size_t drain(std::chrono::steady_clock::time_point deadline) { return inflight_.drain(deadline); }

  struct Call;  // one request's state (completion_handler.cpp)

 private:
  // The request's life, as drawn above.
  Task<> complete(Endpoint endpoint, server::Request request, std::shared_ptr<Call> call);
  // The token ids of each prompt, or the error to answer.
  ApiResult<std::vector<std::vector<int32_t>>> prompt_ids(const OpenAiRequest& req) const;

  const RouterContext& ctx_;
  const ServedModel& model_;
  const ApiLimits limits_;
  RouterMetrics metrics_;
  std::atomic<uint64_t> next_id_{0};
  InflightCalls inflight_;
  RequestFault fault_;  // the drill's, thrown once a stream's first chunk went out
};

}  // namespace pdserve::router
