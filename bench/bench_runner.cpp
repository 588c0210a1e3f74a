#include "bench/bench_runner.h"

#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "bench/arrival.h"
#include "common/server/http_client.h"

namespace pdserve::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Counts requests in flight and finished; the dispatcher waits on it.
class Slots {
 public:
  explicit Slots(int max_in_flight) : max_(max_in_flight) {}
  void acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return max_ <= 0 || in_flight_ < max_; });
    ++in_flight_;
  }
  size_t release() {
    std::lock_guard lock(mu_);
    --in_flight_;
    ++finished_;
    cv_.notify_all();
    return finished_;
  }
  void wait_finished(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return finished_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int max_;
  int in_flight_ = 0;
  size_t finished_ = 0;
};

struct InFlight {
  InFlight(Endpoint e, Clock::time_point at, RequestRecord* r) : reader(e, at, r) {}
  StreamReader reader;                        // on_event (io thread), then finish (caller)
  std::shared_ptr<server::SseStream> stream;  // set by the caller after stream_sse
  Status final_status;                        // set by on_done, read after all ended
  Clock::time_point ended_at{};
};

void count_output_if_needed(RequestRecord& r, const tokenizer::Tokenizer& tok) {
  if (!r.success || r.usage_reported) return;
  tokenizer::EncodeOptions plain;
  plain.add_special_tokens = false;
  auto ids = tok.encode(r.generated_text, plain);
  r.output_len = ids.ok() ? static_cast<int>(ids->size()) : 0;
}

}  // namespace

RunResult run_benchmark(const std::vector<BenchRequest>& requests, const RunOptions& o,
                        const tokenizer::Tokenizer& tokenizer,
                        const std::function<void(size_t, size_t)>& progress) {
  RunResult result;
  result.records.resize(requests.size());
  const size_t n = requests.size();
  server::ClientOptions co;
  co.num_io_threads = std::max(1, o.num_io_threads);
  co.read_timeout = o.read_timeout;
  co.max_idle_per_host =
      o.max_concurrency > 0 ? static_cast<size_t>(o.max_concurrency) : std::max<size_t>(n, 8);
  server::HttpClient client(co);
  Slots slots(o.max_concurrency);
  const std::vector<double> arrivals = arrival_offsets(n, o.request_rate, o.seed, o.burstiness);
  std::vector<std::unique_ptr<InFlight>> flights(n);
  const std::string target = o.base_url.prefix + o.endpoint_path;

  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(arrivals[i])));
    slots.acquire();
    RequestRecord& rec = result.records[i];
    rec.id = static_cast<int64_t>(i);
    rec.input_len = requests[i].input_len;
    rec.expected_output_len = requests[i].output_len;
    server::ClientRequest req = server::ClientRequest::post_json(
        o.base_url.host, o.base_url.port, target, request_body(requests[i], o.body));
    if (!o.api_key.empty()) req.headers.set("Authorization", "Bearer " + o.api_key);
    const Clock::time_point sent = Clock::now();
    rec.start_s = std::chrono::duration<double>(sent - start).count();
    flights[i] = std::make_unique<InFlight>(o.body.endpoint, sent, &rec);
    InFlight* f = flights[i].get();
    auto on_event = [f](const server::SseEvent& ev) {
      if (ev.is_comment) return true;
      return f->reader.on_data(ev.data, Clock::now());
    };
    // on_done may run before stream_sse returns, so it only notes the end;
    // the record is finished below, once every stream has ended.
    auto on_done = [f, &slots, &progress, n](Status st) {
      f->ended_at = Clock::now();
      f->final_status = std::move(st);
      const size_t done = slots.release();
      if (progress) progress(done, n);
    };
    f->stream = client.stream_sse(std::move(req), on_event, on_done);
  }
  slots.wait_finished(n);
  Clock::time_point last_end = start;
  for (size_t i = 0; i < n; ++i) {
    InFlight& f = *flights[i];
    const int http = f.stream->http_status();
    const bool http_error = http != 0 && (http < 200 || http > 299);
    f.reader.finish(f.final_status, http, http_error ? f.stream->error_body() : "", f.ended_at);
    count_output_if_needed(result.records[i], tokenizer);
    last_end = std::max(last_end, f.ended_at);
  }
  result.duration_s = std::chrono::duration<double>(last_end - start).count();
  return result;
}

}  // namespace pdserve::bench
