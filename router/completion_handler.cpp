#include "router/completion_handler.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/base/async_queue.h"
#include "common/base/logging.h"
#include "router/openai_response.h"
#include "router/request_id.h"
#include "router/tool_output.h"

namespace pdserve::router {

using Clock = std::chrono::steady_clock;

namespace {

std::string random_hex(size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* kHex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

// The X-Request-Id response header ("" when the request has no id yet).
server::Headers id_header(const std::string& request_id) {
  server::Headers h;
  if (!request_id.empty()) h.set(kRequestIdHeader, request_id);
  return h;
}

void respond_error(server::ResponseWriter& w, const ApiError& e, const std::string& request_id) {
  server::Response r = server::Response::json(e.http_status, to_error_body(e));
  r.headers = id_header(request_id);
  w.respond(std::move(r));
}

double millis(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Server-Timing of a non-streaming answer: to the first token and in all, in ms.
std::string server_timing(Clock::time_point start, Clock::time_point first_token,
                          Clock::time_point end) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "ttft;dur=%.1f, total;dur=%.1f", millis(first_token - start),
                millis(end - start));
  return buf;
}

}  // namespace

// One request: its choices, what each has produced, and how it is answered.
struct CompletionHandler::Call {
  struct ChoiceState {
    std::string text;
    std::vector<TokenLogprobInfo> logprobs;
    std::string finish_reason;
    StopReason stop_reason;
    int num_output_tokens = 0;
    bool done = false;
    std::unique_ptr<ToolOutput> tools;  // chat with tools: the text read back as calls
    std::vector<ToolCallDelta> tool_calls;
  };

  OpenAiRequest req;
  ResponseMeta meta;
  std::shared_ptr<server::ResponseWriter> writer;
  std::vector<std::string> prompt_texts;  // for echo
  std::vector<int> prompt_lens;
  RouterMetrics metrics;
  std::string request_id;  // echoed as X-Request-Id
  RequestTimeline* timeline = nullptr;
  Clock::time_point start = Clock::now();
  Clock::time_point first_token = start;

  // What the coroutine awaits: a piece of a choice, the client gone, or a
  // drain's deadline. Pushed from any thread.
  struct Event {
    enum Kind { kPiece, kClientGone, kShutdown } kind = kPiece;
    size_t choice_idx = 0;
    ChoicePiece piece;
  };
  AsyncQueue<Event> events;

  // From here on, the coroutine's only.
  std::vector<ChoiceState> choices;
  // The streams hold this call (through their callbacks) and are held by
  // the HTTP client until they end: weak here, so nothing cycles.
  std::vector<std::weak_ptr<ChoiceStream>> streams;
  std::shared_ptr<server::SseWriter> sse;
  std::string chunk;  // the JSON of the chunk being sent: one buffer for every token
  std::string tail;   // what follows the choice in each of them (chunk_tail())
  // An error or the full response went out, or the client went away.
  bool answered = false;
  InflightCalls* inflight = nullptr;
  uint64_t inflight_id = 0;
  bool first_token_seen = false;
  int num_done = 0;
  int num_cached_tokens = 0;

  bool chat() const { return req.endpoint == Endpoint::kChatCompletions; }
  void mark(std::string_view event, std::vector<MilestoneField> fields = {}) const {
    if (timeline != nullptr) timeline->record(request_id, event, std::move(fields));
  }
  int prompt_of(size_t choice_idx) const { return static_cast<int>(choice_idx) / req.n; }

  void cancel_all() {
    for (auto& w : streams) {
      if (auto s = w.lock()) s->cancel();
    }
  }

  // Answered, or the client left: a drain no longer waits for this call.
  // Idempotent.
  void left() const {
    if (inflight != nullptr) inflight->remove(inflight_id);
  }

  // The client went away: the request is counted as cancelled (unless its
  // answer was out already), a drain stops waiting for it and its choices
  // are cancelled.
  void client_gone() {
    if (!std::exchange(answered, true)) metrics.requests_cancelled.inc();
    left();
    cancel_all();
  }

  // Tells the coroutine when the client goes away (at once when it is gone);
  // w: the ResponseWriter, or the SseWriter once streaming.
  template <typename Writer>
  void watch(Writer& w, const std::shared_ptr<Call>& self) {
    w.on_disconnect([weak = std::weak_ptr<Call>(self)] {
      if (auto c = weak.lock()) c->events.push({Event::kClientGone});
    });
  }

  // A streaming request's SSE answer starts with its first piece that is no
  // error; false when the client is gone.
  bool open_stream(const ChoicePiece& p, const std::shared_ptr<Call>& self) {
    if (!req.stream || sse || p.error || answered) return true;
    sse = writer->start_sse(200, id_header(request_id));
    if (!sse) return false;
    watch(*sse, self);
    return true;
  }

  Usage usage() const {
    Usage u;
    for (size_t p = 0; p < prompt_lens.size(); ++p) u.prompt_tokens += prompt_lens[p];
    for (const ChoiceState& c : choices) u.completion_tokens += c.num_output_tokens;
    return u;
  }

  // An exception escaped the request's coroutine (a bug).
  void fail_thrown(const std::exception_ptr& error) {
    PD_LOG(ERROR) << "request " << request_id << ": " << exception_message(error);
    fail(api_error_from_status(internal_error("internal error while serving this request")));
  }

  void fail(const ApiError& e) {
    if (std::exchange(answered, true)) return;
    left();
    metrics.requests_failed.inc();
    mark("failed", {{"status", int64_t{e.http_status}}, {"error", e.message}});
    if (!sse) {
      respond_error(*writer, e, request_id);
    } else {
      (void)sse->send_event(to_error_body(e));
      (void)sse->send_event("[DONE]");
      sse->close();
    }
    cancel_all();
  }

  // One piece of choice i.
  void on_piece(size_t i, ChoicePiece& p) {
    if (answered) return;
    if (p.error) {
      fail(*p.error);
      return;
    }
    ChoiceState& c = choices[i];
    if (p.num_cached_tokens > 0 && p.first) num_cached_tokens += p.num_cached_tokens;
    c.num_output_tokens = p.num_output_tokens;
    if (!first_token_seen && p.num_output_tokens > 0) {
      first_token_seen = true;
      first_token = Clock::now();
      metrics.ttft.observe(std::chrono::duration<double>(first_token - start).count());
      mark("first_token");
    }
    if (req.echo && p.first) p.text = prompt_texts[static_cast<size_t>(prompt_of(i))] + p.text;
    std::vector<ToolCallDelta> calls;
    if (c.tools) {
      StreamDelta d = c.tools->take(p.text, p.finished, &p.finish_reason);
      p.text = std::move(d.content);
      calls = std::move(d.tool_calls);
    }
    if (req.stream) {
      stream_piece(i, p, calls);
    } else {
      c.tool_calls.insert(c.tool_calls.end(), calls.begin(), calls.end());
      c.text += p.text;
      c.logprobs.insert(c.logprobs.end(), p.logprobs.begin(), p.logprobs.end());
    }
    if (!p.finished) return;
    c.done = true;
    c.finish_reason = p.finish_reason;
    c.stop_reason = p.stop_reason;
    if (++num_done < static_cast<int>(choices.size())) return;
    finish();
  }

  // One choice as the response shows it (ChatChoice or CompletionChoice).
  template <typename Choice>
  Choice make_choice(size_t i, const std::string& text, const std::vector<TokenLogprobInfo>& lps,
                     const std::string& finish_reason, const StopReason& stop_reason) const {
    Choice ch;
    ch.index = static_cast<int>(i);
    if constexpr (std::is_same_v<Choice, ChatChoice>) {
      ch.content = text;
    } else {
      ch.text = text;
    }
    if (req.sampling.num_logprobs >= 0) ch.logprobs = lps;
    ch.finish_reason = finish_reason;
    ch.stop_reason = stop_reason;
    return ch;
  }

  void stream_piece(size_t i, const ChoicePiece& p, const std::vector<ToolCallDelta>& calls) {
    if (chat() && p.first) {
      ChatChoice role;
      role.index = static_cast<int>(i);
      role.role_chunk = true;
      chat_chunk(role, tail, &chunk);
      (void)sse->send_event(chunk);
    }
    if (p.text.empty() && p.logprobs.empty() && calls.empty() && !p.finished) return;
    if (chat()) {
      ChatChoice ch =
          make_choice<ChatChoice>(i, p.text, p.logprobs, p.finish_reason, p.stop_reason);
      ch.tool_calls = calls;
      chat_chunk(ch, tail, &chunk);
    } else {
      completion_chunk(
          make_choice<CompletionChoice>(i, p.text, p.logprobs, p.finish_reason, p.stop_reason),
          tail, &chunk);
    }
    (void)sse->send_event(chunk);
  }

  template <typename Choice>
  std::vector<Choice> final_choices() const {
    std::vector<Choice> out;
    for (size_t i = 0; i < choices.size(); ++i) {
      const ChoiceState& c = choices[i];
      out.push_back(make_choice<Choice>(i, c.text, c.logprobs, c.finish_reason, c.stop_reason));
      if constexpr (std::is_same_v<Choice, ChatChoice>) out.back().tool_calls = c.tool_calls;
    }
    return out;
  }

  // Every choice finished.
  void finish() {
    answered = true;
    left();
    Usage u = usage();
    u.cached_tokens = num_cached_tokens;
    metrics.requests_ok.inc();
    metrics.prompt_tokens.inc(u.prompt_tokens);
    metrics.generation_tokens.inc(u.completion_tokens);
    metrics.e2e.observe(std::chrono::duration<double>(Clock::now() - start).count());
    mark("finished", {{"finish_reason", choices.front().finish_reason},
                      {"prompt_tokens", int64_t{u.prompt_tokens}},
                      {"completion_tokens", int64_t{u.completion_tokens}}});
    if (req.stream) {
      if (req.include_usage) (void)sse->send_event(usage_chunk(meta, req.endpoint, u));
      (void)sse->send_event("[DONE]");
      sse->close();
      return;
    }
    const std::string body = chat()
                                 ? chat_response(meta, final_choices<ChatChoice>(), u)
                                 : completion_response(meta, final_choices<CompletionChoice>(), u);
    server::Response r = server::Response::json(200, std::move(body));
    r.headers = id_header(request_id);
    r.headers.set("Server-Timing", server_timing(start, first_token, Clock::now()));
    writer->respond(std::move(r));
  }
};

ApiResult<std::string> ServedModel::render_chat(const ChatInput& chat) const {
  const chat_template::ChatTemplate* t =
      !chat.tools_json.empty() && tool_use_template != nullptr ? tool_use_template : chat_template;
  if (t == nullptr)
    return invalid_request("messages", "this model has no chat template; use /v1/completions");
  const ContentFormat format = content_format.value_or(t->content_format());
  Result<std::string> text = t->render(build_template_context(chat, special_tokens_json, format));
  if (!text.ok()) return api_error_from_status(text.status(), "messages");
  return cut_after_final_message(std::move(text).value(), chat, format);
}

ApiResult<std::vector<std::vector<int32_t>>> CompletionHandler::prompt_ids(
    const OpenAiRequest& req) const {
  tokenizer::EncodeOptions enc;
  enc.add_special_tokens = req.add_special_tokens;
  std::vector<std::vector<int32_t>> out;
  if (req.endpoint == Endpoint::kChatCompletions) {
    ApiResult<std::string> prompt = model_.render_chat(req.chat);
    if (!prompt.ok()) return prompt.error();
    Result<std::vector<int32_t>> ids = model_.tokenizer->encode(prompt.value(), enc);
    if (!ids.ok()) return api_error_from_status(ids.status(), "messages");
    out.push_back(std::move(ids).value());
    return out;
  }
  for (const Prompt& p : req.prompts) {
    if (p.is_tokens) {
      out.push_back(p.token_ids);
      continue;
    }
    Result<std::vector<int32_t>> ids = model_.tokenizer->encode(p.text, enc);
    if (!ids.ok()) return api_error_from_status(ids.status(), "prompt");
    if (ids->empty()) return invalid_request("prompt", "the prompt is empty after tokenization");
    out.push_back(std::move(ids).value());
  }
  return out;
}

void CompletionHandler::handle(Endpoint endpoint, server::Request request,
                               std::shared_ptr<server::ResponseWriter> writer) {
  auto call = std::make_shared<Call>();
  call->writer = std::move(writer);
  call->metrics = metrics_;
  auto on_error = [call](std::exception_ptr error) { call->fail_thrown(error); };
  spawn(complete(endpoint, std::move(request), call), std::move(on_error));
}

Task<> CompletionHandler::complete(Endpoint endpoint, server::Request request,
                                   std::shared_ptr<Call> call) {
  // Request id, parse, validate.
  ApiResult<std::string> rid = request_id(request.headers, [] { return random_hex(24); });
  if (!rid.ok()) co_return call->fail(rid.error());
  const std::string& id = rid.value();
  call->request_id = id;
  auto fail = [&](const ApiError& e) { call->fail(e); };
  ApiResult<OpenAiRequest> parsed = endpoint == Endpoint::kChatCompletions
                                        ? parse_chat_request(request.body, limits_)
                                        : parse_completion_request(request.body, limits_);
  if (!parsed.ok()) co_return fail(parsed.error());
  OpenAiRequest& req = parsed.value();
  if (req.model != model_.name) co_return fail(model_not_found(req.model));
  if (auto e = check_token_ids(req, model_.tokenizer->vocab_size())) co_return fail(*e);
  if (auto e = check_tool_use(req.tool_use, model_.tool_calls)) co_return fail(*e);
  // Template, tokenize, check the context.
  ApiResult<std::vector<std::vector<int32_t>>> ids = prompt_ids(req);
  if (!ids.ok()) co_return fail(ids.error());
  std::vector<protocol::SamplingParams> sampling;
  for (const std::vector<int32_t>& p : ids.value()) {
    ApiResult<protocol::SamplingParams> s =
        finalize_sampling(req, static_cast<int>(p.size()), model_.max_model_len);
    if (!s.ok()) co_return fail(s.error());
    sampling.push_back(s.value());
  }

  // Admit: a drain ends a request still running at its deadline with an
  // error event.
  std::optional<uint64_t> inflight_id = inflight_.add([weak = std::weak_ptr<Call>(call)] {
    if (auto c = weak.lock()) c->events.push({Call::Event::kShutdown});
  });
  if (!inflight_id)
    co_return fail(api_error_from_status(unavailable("the server is shutting down")));
  call->inflight = &inflight_;
  call->inflight_id = *inflight_id;
  call->timeline = ctx_.timeline;
  call->meta.id = (endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-") + id;
  call->meta.created = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  call->meta.model = model_.name;
  call->meta.include_usage = req.include_usage;
  if (req.stream) call->tail = chunk_tail(call->meta, endpoint);
  for (size_t p = 0; p < ids.value().size(); ++p) {
    call->prompt_lens.push_back(static_cast<int>(ids.value()[p].size()));
    call->prompt_texts.push_back(req.prompts.size() > p ? req.prompts[p].text : std::string());
    if (req.echo && req.prompts[p].is_tokens) {
      Result<std::string> t = model_.tokenizer->decode(ids.value()[p], req.skip_special_tokens);
      call->prompt_texts.back() = t.ok() ? *t : std::string();
    }
  }

  // Start every choice.
  const size_t num_choices = ids.value().size() * static_cast<size_t>(req.n);
  call->choices.resize(num_choices);
  for (Call::ChoiceState& c : call->choices)
    c.tools = ToolOutput::create(req.tool_use, model_.tool_calls);
  call->mark("received",
             {{"endpoint", std::string(endpoint == Endpoint::kChatCompletions ? "chat/completions"
                                                                              : "completions")},
              {"stream", int64_t{req.stream ? 1 : 0}},
              {"choices", static_cast<int64_t>(num_choices)}});
  std::vector<std::shared_ptr<ChoiceStream>> streams;
  for (size_t i = 0; i < num_choices; ++i) {
    const size_t p = i / static_cast<size_t>(req.n);
    ChoiceSpec spec;
    spec.request_id = id + "-" + std::to_string(i);
    spec.prompt_ids = ids.value()[p];
    spec.sampling = choice_sampling(sampling[p], static_cast<int>(i % static_cast<size_t>(req.n)));
    spec.stop = req.stop;
    spec.skip_special_tokens = req.skip_special_tokens;
    spec.include_stop_str_in_output = req.include_stop_str_in_output;
    spec.want_logprobs = req.sampling.num_logprobs >= 0;
    spec.cache_salt = req.cache_salt;
    spec.priority = req.priority;
    streams.push_back(
        std::make_shared<ChoiceStream>(ctx_, std::move(spec), [call, i](ChoicePiece&& piece) {
          call->events.push({Call::Event::kPiece, i, std::move(piece)});
        }));
  }
  call->req = std::move(req);
  call->watch(*call->writer, call);
  for (auto& s : streams) call->streams.push_back(s);
  for (auto& s : streams) s->start();
  streams.clear();

  // Relay, until answered.
  while (!call->answered) {
    Call::Event ev = co_await call->events.pop();
    switch (ev.kind) {
      case Call::Event::kClientGone: call->client_gone(); break;
      case Call::Event::kShutdown:
        call->fail(api_error_from_status(unavailable("the server is shutting down")));
        break;
      case Call::Event::kPiece: {
        const bool opening = !call->sse;
        if (!call->open_stream(ev.piece, call)) {  // the client went away before the first token
          call->client_gone();
          break;
        }
        call->on_piece(ev.choice_idx, ev.piece);
        if (opening && call->sse && !call->answered) fault_.maybe_throw();
        break;
      }
    }
  }
}

}  // namespace pdserve::router
