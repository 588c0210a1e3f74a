#include "router/choice_stream.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <span>
#include <utility>

#include "common/base/logging.h"

namespace pdserve::router {

namespace internal = server::internal;

namespace {

constexpr size_t kMaxTries = 3;
// Between rounds of tries while waiting for a decode worker to come back.
constexpr std::chrono::milliseconds kRetryDelay{250};

// Logs what went wrong with request `request_id` (addresses and causes
// included) and returns what its client hears (worker_failure).
ApiError worker_error(const std::string& request_id, int http_status, std::string detail) {
  PD_LOG(WARN) << "request " << request_id << ": " << http_status << " " << detail;
  return worker_failure(http_status, std::move(detail));
}

// The message of an OpenAI-shaped error body, else the body itself (cut).
std::string error_message(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("message") && j["error"]["message"].is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return body.substr(0, 500);
}

}  // namespace

ChoiceStream::ChoiceStream(const RouterContext& ctx, ChoiceSpec spec, OnPiece on_piece)
    : ctx_(ctx),
      spec_(std::move(spec)),
      on_piece_(std::move(on_piece)),
      detok_(*ctx.tokenizer, spec_.skip_special_tokens),
      stops_(spec_.stop) {}

void ChoiceStream::start() {
  started_at_ = std::chrono::steady_clock::now();
  send();
}

void ChoiceStream::cancel() {
  ended_ = true;
  std::shared_ptr<server::SseStream> s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stream_;
  }
  if (s) s->cancel();
}

void ChoiceStream::send() {
  RouteRequest rr;
  rr.model = ctx_.model;
  rr.num_prompt_tokens = static_cast<int>(spec_.prompt_ids.size());
  rr.prefix_matches = ctx_.prefix_index->match(spec_.prompt_ids, spec_.cache_salt);
  rr.exclude = tried_;
  Result<Choice> choice = ctx_.policy->choose(rr, ctx_.registry->snapshot());
  // After an unreachable worker (dead, restarting, stalled), none left or
  // none healthy: wait for one while the window lasts. A worker that answered
  // 429 / 503 is overloaded: that answer goes to the client at once.
  if (!choice.ok() && last_unreachable_ && ctx_.retry_timer != nullptr &&
      std::chrono::steady_clock::now() - started_at_ + kRetryDelay < ctx_.retry_window) {
    tried_.clear();  // the same workers again: one may be back (restarted)
    std::shared_ptr<ChoiceStream> self = shared_from_this();
    ctx_.retry_timer->after(kRetryDelay, [self] {
      if (!self->ended_) self->send();
    });
    return;
  }
  if (!choice.ok()) {
    ChoicePiece p;
    p.error = last_error_
                  ? *last_error_
                  : worker_error(spec_.request_id, 503,
                                 "no decode worker available: " + choice.status().message());
    finish(std::move(p));
    return;
  }
  decode_id_ = choice->decode.id;
  tried_.push_back(decode_id_);
  ++num_tries_;
  internal::GenerateRequest gr{
      spec_, spec_.request_id + (num_tries_ > 1 ? "-" + std::to_string(num_tries_) : "")};
  if (choice->prefill) gr.prefill = choice->prefill->address;
  gr.prefill_mode = ctx_.prefill_mode;
  if (ctx_.timeline != nullptr) {
    ctx_.timeline->record(spec_.request_id, "routed",
                          {{"decode_worker", decode_id_},
                           {"prefill_worker", choice->prefill ? choice->prefill->id : ""},
                           {"attempt", int64_t{num_tries_}}});
  }
  ctx_.registry->add_inflight(decode_id_, 1);
  server::ClientRequest req =
      server::ClientRequest::post_json(choice->decode.address.host, choice->decode.address.port,
                                       "/internal/v1/generate", internal::to_json(gr));
  req.headers.set("Authorization", "Bearer " + ctx_.cluster_token);
  req.read_timeout = ctx_.stream_silence;  // decode workers send heartbeats meanwhile
  std::shared_ptr<ChoiceStream> self = shared_from_this();
  std::shared_ptr<server::SseStream> s = ctx_.client->stream_sse(
      std::move(req), [self](const server::SseEvent& ev) { return self->on_event(ev); },
      [self](Status st) { self->on_done(std::move(st)); });
  std::lock_guard<std::mutex> lock(mu_);
  stream_ = std::move(s);
}

std::vector<TokenLogprobInfo> ChoiceStream::token_logprobs(
    const internal::GenerateEvent& ev) const {
  std::vector<TokenLogprobInfo> out;
  auto piece = [this](int32_t id) {
    const int32_t one[] = {id};
    Result<std::string> s = ctx_.tokenizer->decode(std::span<const int32_t>(one), false);
    return s.ok() ? *s : std::string();
  };
  for (size_t i = 0; i < ev.logprobs.size() && i < ev.token_ids.size(); ++i) {
    TokenLogprobInfo info{piece(ev.token_ids[i]), ev.logprobs[i].logprob, {}};
    for (const protocol::TokenLogprob& t : ev.logprobs[i].top)
      info.top.push_back({piece(t.token_id), t.logprob});
    out.push_back(std::move(info));
  }
  return out;
}

bool ChoiceStream::on_event(const server::SseEvent& ev) {
  // [DONE] follows the last event: read on to the stream's end, so that the
  // connection goes back to the pool instead of being closed.
  if (ev.data == "[DONE]") return true;
  if (ended_) return false;
  if (ev.is_comment) return true;
  Status parsed = internal::parse_generate_event(ev.data, &event_);
  if (!parsed.ok()) {
    ChoicePiece p;
    p.error =
        worker_error(spec_.request_id, 502,
                     "decode worker " + decode_id_ + " sent a bad event: " + parsed.message());
    finish(std::move(p));
    return false;
  }
  const internal::GenerateEvent& g = event_;
  got_event_ = true;
  if (g.error) {
    ChoicePiece p;
    p.error = worker_error(spec_.request_id, g.error->http_status,
                           "decode worker " + decode_id_ + ": " + g.error->message);
    finish(std::move(p));
    return false;
  }
  if (g.num_prompt_tokens > 0) num_prompt_tokens_ = g.num_prompt_tokens;
  if (g.num_cached_tokens > 0) num_cached_tokens_ = g.num_cached_tokens;
  std::string text;
  for (int32_t id : g.token_ids) {
    Result<std::string> t = detok_.push(id);
    if (t.ok()) text += *t;
    ++num_output_tokens_;
  }
  const bool last = !g.finish_reason.empty();
  ChoicePiece p;
  if (spec_.want_logprobs) p.logprobs = token_logprobs(g);
  if (last) text += detok_.flush();
  StopMatcher::Output o = stops_.feed(text);
  p.text = std::move(o.text);
  p.first = first_piece_;
  first_piece_ = false;
  p.num_prompt_tokens = num_prompt_tokens_;
  p.num_cached_tokens = num_cached_tokens_;
  p.num_output_tokens = num_output_tokens_;
  if (o.stopped) {
    if (spec_.include_stop_str_in_output) p.text += stops_.stop_string();
    p.finish_reason = "stop";
    p.stop_reason.stop_string = stops_.stop_string();
    finish(std::move(p));
    return false;  // cancels the worker's stream: the request ends there
  }
  if (!last) {
    if (!p.text.empty() || !p.logprobs.empty() || p.first) on_piece_(std::move(p));
    return true;
  }
  p.text += stops_.finish();
  if (g.finish_reason == "stop" || g.finish_reason == "length") {
    p.finish_reason = g.finish_reason;
    p.stop_reason.stop_token_id = g.stop_token_id;
  } else {
    p.error = worker_error(spec_.request_id, 503,
                           "the decode worker ended the request (" + g.finish_reason + ")");
  }
  finish(std::move(p));
  return true;
}

void ChoiceStream::on_done(Status status) {
  if (ended_) return;
  int http_status = 0;
  std::string body;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stream_) {
      http_status = stream_->http_status();
      body = stream_->error_body();
    }
  }
  // Refused or unreachable before anything started: another pair may take it.
  const bool retriable = !got_event_ && (status.code() == StatusCode::kUnavailable ||
                                         status.code() == StatusCode::kDeadlineExceeded ||
                                         http_status == 503 || http_status == 429);
  // Silent past the deadline: no heartbeat either, the worker is stalled.
  // Route nothing more to it until a poll finds it well again.
  if (status.code() == StatusCode::kDeadlineExceeded) ctx_.registry->mark_stalled(decode_id_);
  ApiError error;
  if (http_status >= 400) {
    error = worker_error(spec_.request_id, http_status,
                         "decode worker " + decode_id_ + ": " + error_message(body));
  } else if (status.ok()) {
    error = worker_error(spec_.request_id, 502,
                         "decode worker " + decode_id_ + " ended the stream without a finish");
  } else {
    error = worker_error(spec_.request_id, 502,
                         "decode worker " + decode_id_ + ": " + status.message());
  }
  last_unreachable_ = http_status == 0 && (status.code() == StatusCode::kUnavailable ||
                                           status.code() == StatusCode::kDeadlineExceeded);
  if (retriable && (tried_.size() < kMaxTries || (last_unreachable_ && ctx_.retry_timer))) {
    ctx_.registry->add_inflight(decode_id_, -1);
    decode_id_.clear();
    last_error_ = std::move(error);
    send();
    return;
  }
  ChoicePiece p;
  p.error = std::move(error);
  finish(std::move(p));
}

void ChoiceStream::finish(ChoicePiece&& piece) {
  if (ended_.exchange(true)) return;
  if (!decode_id_.empty()) ctx_.registry->add_inflight(decode_id_, -1);
  piece.finished = true;
  piece.num_prompt_tokens = piece.num_prompt_tokens ? piece.num_prompt_tokens : num_prompt_tokens_;
  piece.num_output_tokens = num_output_tokens_;
  piece.first = piece.first || first_piece_;
  first_piece_ = false;
  on_piece_(std::move(piece));
}

}  // namespace pdserve::router
