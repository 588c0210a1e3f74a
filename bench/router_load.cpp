#include "bench/router_load.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <utility>

#include "common/server/http_client.h"
#include "common/wire/internal_api.h"

namespace pdserve::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kTopLogprobs = 5;
constexpr size_t kMaxErrors = 5;
// Never in the replayed text, so they hold back nothing and never stop.
const char* const kStops[] = {"@@STOP@@", "##END##"};

std::string body_of(const RouterScenario& s, const RouterLoadOptions& o) {
  json b = {{"model", o.model}, {"stream", s.stream}, {"temperature", 0}};
  if (s.stream) b["stream_options"] = {{"include_usage", true}};
  if (s.stop) b["stop"] = kStops;
  if (s.chat) {
    b["messages"] = json::array({{{"role", "user"}, {"content", o.prompt_text}}});
    b["max_completion_tokens"] = o.output_len;
    if (s.logprobs) {
      b["logprobs"] = true;
      b["top_logprobs"] = kTopLogprobs;
    }
  } else {
    b["prompt"] = o.prompt_ids;
    b["max_tokens"] = o.output_len;
    if (s.logprobs) b["logprobs"] = kTopLogprobs;
  }
  return b.dump();
}

// direct/stream/plain: the upstream's own generate request for `request_id`.
server::ClientRequest generate_request(const RouterLoadOptions& o, const std::string& request_id) {
  server::internal::GenerateRequest g;
  g.request_id = request_id;
  g.prompt_ids = o.prompt_ids;
  g.sampling.max_tokens = o.output_len;
  server::ClientRequest req = server::ClientRequest::post_json(
      "127.0.0.1", o.upstream->port(), "/internal/v1/generate", server::internal::to_json(g));
  req.headers.set("Authorization", "Bearer " + o.cluster_token);
  return req;
}

// The text of a chunk's or response's first choice (completions: text; chat:
// delta.content or message.content); empty when none.
std::string text_of(const json& j, bool chat) {
  auto cs = j.find("choices");
  if (cs == j.end() || !cs->is_array() || cs->empty() || !(*cs)[0].is_object()) return {};
  const json& c = (*cs)[0];
  const json* holder = &c;
  if (chat) {
    auto d = c.find("delta");
    if (d == c.end()) d = c.find("message");
    if (d == c.end() || !d->is_object()) return {};
    holder = &*d;
  }
  auto t = holder->find(chat ? "content" : "text");
  return t != holder->end() && t->is_string() ? t->get<std::string>() : std::string();
}

int completion_tokens(const json& j) {
  auto u = j.find("usage");
  if (u == j.end() || !u->is_object()) return -1;
  auto c = u->find("completion_tokens");
  return c != u->end() && c->is_number_integer() ? c->get<int>() : -1;
}

// A streamed chunk read without a json value: the clients must keep up with
// the router, and parsing every chunk made their own lag most of the latency
// measured. The router writes keys in order: a completion choice's "text" is
// its last key, a chat chunk's "delta" holds "content" first; the replayed
// text has no quote or backslash, so a string ends at the next quote. A
// changed format shows as text that does not match (the request fails).
struct ChunkView {
  bool error = false;
  size_t num_text_bytes = 0;
  int completion_tokens = -1;  // the usage chunk's
};

ChunkView read_chunk(std::string_view chunk, bool chat) {
  ChunkView v;
  v.error = !chunk.starts_with("{") || chunk.starts_with("{\"error\"");
  const std::string_view key = chat ? "\"delta\":{\"content\":\"" : "\"text\":\"";
  const size_t at = chat ? chunk.find(key) : chunk.rfind(key);
  if (at != std::string_view::npos) {
    const size_t begin = at + key.size();
    const size_t end = chunk.find('"', begin);
    v.num_text_bytes = end == std::string_view::npos ? 0 : end - begin;
  }
  constexpr std::string_view kTokens = "\"completion_tokens\":";
  if (const size_t t = chunk.find(kTokens); t != std::string_view::npos) {
    const char* first = chunk.data() + t + kTokens.size();
    std::from_chars(first, chunk.data() + chunk.size(), v.completion_tokens);
  }
  return v;
}

using Chunks = std::vector<std::pair<Clock::time_point, size_t>>;  // (received, bytes so far)

// What a successful request received, for the latencies.
struct Received {
  std::string id;
  Chunks chunks;
};

// One request and what came back.
struct Exchange {
  std::string id;
  Clock::time_point sent;
  Chunks chunks;
  size_t num_bytes = 0;
  int num_tokens = -1;
  bool done_seen = false;
  std::string error;
  std::mutex mu;  // stream: set after stream_sse returns, read when it ended
  std::shared_ptr<server::SseStream> stream;
};

class Driver {
 public:
  Driver(const RouterScenario& s, const RouterLoadOptions& o, uint64_t run)
      : s_(s),
        o_(o),
        body_(s.direct ? std::string() : body_of(s, o)),
        id_prefix_("rb" + std::to_string(run) + "-"),
        client_([&] {
          server::ClientOptions c;
          c.num_io_threads = 2;
          c.max_idle_per_host = static_cast<size_t>(o.num_streams);
          return c;
        }()) {}

  RouterLoadResult run() {
    start_ = Clock::now();
    end_ = start_ + o_.duration;
    active_ = o_.num_streams;
    for (int i = 0; i < o_.num_streams; ++i) launch();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return active_ == 0; });
    result_.wall_s = std::chrono::duration<double>(last_end_ - start_).count();
    for (const Received& e : finished_) add_latencies(e);
    return std::move(result_);
  }

 private:
  void launch() {
    auto e = std::make_shared<Exchange>();
    e->id = id_prefix_ + std::to_string(next_id_.fetch_add(1));
    server::ClientRequest req =
        s_.direct
            ? generate_request(o_, e->id + "-0")
            : server::ClientRequest::post_json(
                  o_.router.host, o_.router.port,
                  o_.router.prefix + (s_.chat ? "/v1/chat/completions" : "/v1/completions"), body_);
    req.headers.set("X-Request-Id", e->id);
    e->sent = Clock::now();
    if (!s_.stream) {
      client_.send_async(std::move(req), [this, e](Result<server::ClientResponse> r) {
        const Clock::time_point at = Clock::now();
        if (!r.ok()) {
          e->error = r.status().message();
        } else if (r->status != 200) {
          e->error = "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 200);
        } else {
          json j = json::parse(r->body, nullptr, false);
          e->num_bytes = text_of(j, s_.chat).size();
          e->num_tokens = completion_tokens(j);
          e->chunks.push_back({at, e->num_bytes});
          e->done_seen = true;
        }
        done(e, at);
      });
      return;
    }
    std::shared_ptr<server::SseStream> stream = client_.stream_sse(
        std::move(req),
        [this, e](const server::SseEvent& ev) {
          if (ev.is_comment) return true;
          if (ev.data == "[DONE]") {
            e->done_seen = true;
            return true;
          }
          const Clock::time_point at = Clock::now();
          if (s_.direct) return on_upstream_event(*e, ev.data, at);
          const ChunkView c = read_chunk(ev.data, s_.chat);
          if (c.error) {
            e->error = "error event: " + ev.data.substr(0, 200);
            return false;
          }
          if (c.num_text_bytes > 0) {
            e->num_bytes += c.num_text_bytes;
            e->chunks.push_back({at, e->num_bytes});
          }
          if (c.completion_tokens >= 0) e->num_tokens = c.completion_tokens;
          return true;
        },
        [this, e](Status st) {
          if (!st.ok() && e->error.empty()) {
            e->error = st.message();
            std::lock_guard<std::mutex> lock(e->mu);
            if (e->stream && !e->stream->error_body().empty())
              e->error += ": " + e->stream->error_body().substr(0, 200);
          }
          done(e, Clock::now());
        });
    std::lock_guard<std::mutex> lock(e->mu);
    e->stream = std::move(stream);
  }

  // direct/stream/plain: one event of the upstream, one token each.
  bool on_upstream_event(Exchange& e, const std::string& data, Clock::time_point at) {
    Result<server::internal::GenerateEvent> ev = server::internal::parse_generate_event(data);
    if (!ev.ok() || ev->error) {
      e.error = "bad upstream event: " + data.substr(0, 200);
      return false;
    }
    for (size_t i = 0; i < ev->token_ids.size(); ++i) {
      const size_t k = e.chunks.size();
      e.num_bytes = k < o_.expected_bytes.size() ? o_.expected_bytes[k] : 0;
      e.chunks.push_back({at, e.num_bytes});
    }
    if (!ev->finish_reason.empty()) e.num_tokens = static_cast<int>(e.chunks.size());
    return true;
  }

  void done(const std::shared_ptr<Exchange>& e, Clock::time_point at) {
    const size_t want = o_.expected_bytes.empty() ? 0 : o_.expected_bytes.back();
    if (e->error.empty() && !e->done_seen) e->error = "the stream ended without data: [DONE]";
    if (e->error.empty() && (e->num_tokens != o_.output_len || e->num_bytes != want))
      e->error = "relayed " + std::to_string(e->num_tokens) + " tokens, " +
                 std::to_string(e->num_bytes) + " bytes; expected " +
                 std::to_string(o_.output_len) + ", " + std::to_string(want);
    const bool again = at < end_;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++result_.num_requests;
      if (!e->error.empty()) {
        ++result_.num_failed;
        if (result_.errors.size() < kMaxErrors) result_.errors.push_back(e->id + ": " + e->error);
      } else {
        result_.num_tokens += e->num_tokens;
        if (s_.stream) result_.num_chunks += static_cast<int64_t>(e->chunks.size());
        finished_.push_back({e->id, std::move(e->chunks)});
      }
      last_end_ = std::max(last_end_, at);
      if (!again && --active_ == 0) cv_.notify_all();
    }
    if (again) launch();
  }

  // After the run: each received chunk against the send time of the event that caused it.
  void add_latencies(const Received& e) {
    const std::vector<Clock::time_point> sent = o_.upstream->send_times(e.id + "-0");
    for (const auto& [at, num_bytes] : e.chunks) {
      auto it = std::lower_bound(o_.expected_bytes.begin(), o_.expected_bytes.end(), num_bytes);
      size_t k = static_cast<size_t>(it - o_.expected_bytes.begin());
      if (!s_.stream) k = sent.empty() ? 0 : sent.size() - 1;
      if (k >= sent.size()) continue;
      result_.latency_us.push_back(std::chrono::duration<double, std::micro>(at - sent[k]).count());
    }
  }

  const RouterScenario& s_;
  const RouterLoadOptions& o_;
  const std::string body_;
  const std::string id_prefix_;  // unique per run: the upstream's records never mix
  server::HttpClient client_;
  Clock::time_point start_, end_, last_end_;
  std::atomic<uint64_t> next_id_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;
  std::vector<Received> finished_;
  RouterLoadResult result_;
};

std::atomic<uint64_t> g_num_runs{0};

}  // namespace

std::string RouterScenario::name() const {
  if (direct) return "direct/stream/plain";
  return std::string(chat ? "chat" : "completions") + (stream ? "/stream" : "/full") +
         (stop       ? "/stop"
          : logprobs ? "/logprobs"
                     : "/plain");
}

std::vector<RouterScenario> all_router_scenarios() {
  std::vector<RouterScenario> out = {{.direct = true}};
  for (bool chat : {false, true})
    for (bool stream : {true, false})
      for (int extra = 0; extra < 3; ++extra)
        out.push_back({.chat = chat, .stream = stream, .stop = extra == 1, .logprobs = extra == 2});
  return out;
}

RouterLoadResult run_router_load(const RouterScenario& scenario, const RouterLoadOptions& options) {
  Driver d(scenario, options, g_num_runs.fetch_add(1));
  return d.run();
}

}  // namespace pdserve::bench
