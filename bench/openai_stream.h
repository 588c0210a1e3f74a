// The OpenAI wire format of one benchmark request: the body to send and the
// streamed answer read into a RequestRecord. Pure: no I/O, times given.
//
// A chunk "carries content" when its first choice has non-empty `text`
// (completions) or `delta.content` (chat), as vLLM's benchmark reads it; the
// first such chunk is TTFT, each next one adds a gap to ITL. The usage chunk
// (`stream_options.include_usage`) gives the output token count. A chunk
// with an "error" object, or a stream that ends without `data: [DONE]`,
// fails the request.
//
// kInternalGenerate speaks pdserve's internal API instead (POST
// /internal/v1/generate on a decode worker, the cluster token as API key):
// token-id prompts only; an event carries content when it has token_ids, and
// the output token count is the sum of them. Measuring the same load there
// and through the router gives the router's overhead.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "bench/bench_request.h"
#include "common/base/status.h"

namespace pdserve::bench {

enum class Endpoint { kCompletions, kChatCompletions, kInternalGenerate };

struct BodyOptions {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;
  bool ignore_eos = true;
  double temperature = 0.0;
};

// The JSON body: stream true with include_usage, max_tokens (completions) or
// max_completion_tokens (chat) = output_len, ignore_eos when asked.
std::string request_body(const BenchRequest& request, const BodyOptions& options);

// Reads one request's stream. Thread-compatible (one stream, one owner).
class StreamReader {
 public:
  using Clock = std::chrono::steady_clock;
  StreamReader(Endpoint endpoint, Clock::time_point sent_at, RequestRecord* record);

  // One SSE `data` payload received at `at`. Returns false when the stream
  // should be stopped (an error event: the record is failed).
  bool on_data(std::string_view data, Clock::time_point at);
  // The stream ended at `at`; transport is its final status, http_status the
  // answer's status (0 when none), error_body the body of a non-2xx answer.
  void finish(const Status& transport, int http_status, std::string_view error_body,
              Clock::time_point at);

 private:
  void fail(std::string message);

  Endpoint endpoint_;
  Clock::time_point sent_at_;
  Clock::time_point last_content_at_{};
  bool has_content_ = false;
  bool done_seen_ = false;
  RequestRecord* record_;
};

// "message" of an OpenAI error body ({"error": {"message": ...}}), else the
// body itself cut to one line of at most 200 bytes.
std::string error_message_of(std::string_view body);

}  // namespace pdserve::bench
