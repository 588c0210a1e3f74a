// Runs one benchmark: sends every request at its arrival time (Poisson at
// the request rate), never more than max_concurrency at once, streams the
// answers and records each one. One dispatching thread (the caller's) plus
// the HTTP client's io threads.
//
//   dispatch i:  sleep until start + arrival[i] -> wait for a free slot ->
//                send (t0) -> chunks (TTFT, ITL) -> end (E2E) -> free the slot
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/base_url.h"
#include "bench/bench_request.h"
#include "bench/openai_stream.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::bench {

struct RunOptions {
  BaseUrl base_url;
  std::string endpoint_path = "/v1/completions";
  BodyOptions body;
  std::string api_key;      // sent as "Authorization: Bearer ..." when not empty
  double request_rate = 0;  // requests/s; +inf or <= 0: all at once
  double burstiness = 1.0;
  int max_concurrency = 0;  // 0: unbounded
  uint64_t seed = 0;
  std::chrono::milliseconds read_timeout{600'000};  // longest silence within a stream
  int num_io_threads = 2;
};

struct RunResult {
  std::vector<RequestRecord> records;  // in workload order, every request
  double duration_s = 0;               // first send to last end
};

// progress(done, total) is called from io threads as requests end. When a
// request's usage carries no completion_tokens, its text is counted with
// `tokenizer` (no special tokens). Failures are in the records, never dropped.
RunResult run_benchmark(const std::vector<BenchRequest>& requests, const RunOptions& options,
                        const tokenizer::Tokenizer& tokenizer,
                        const std::function<void(size_t, size_t)>& progress = nullptr);

}  // namespace pdserve::bench
