// Serving metrics with vLLM's definitions (benchmark_serving.py,
// calculate_metrics): pure functions over finished RequestRecords.
//
//   TTFT   time to the first chunk that carries content
//   TPOT   per request (E2E - TTFT) / (output tokens - 1), only for requests
//          with more than one output token
//   ITL    gaps between consecutive content chunks, pooled over requests
//   E2E    send to end of stream
//
// Only successful requests enter the distributions and the token totals;
// failed ones are counted. Throughputs divide by the benchmark duration.
// Goodput counts the successful requests meeting every SLO given (a request
// with one output token has TPOT 0 for this check, as in vLLM).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "bench/bench_request.h"
#include "bench/slo.h"

namespace pdserve::bench {

// numpy.percentile's default (linear interpolation between closest ranks):
// rank = p/100 * (n-1). `values` need not be sorted; 0 for an empty set.
double percentile(std::vector<double> values, double p);

// All in the unit of the values; every field 0 for an empty set.
struct Distribution {
  size_t count = 0;
  double mean = 0;
  double std = 0;  // population standard deviation (numpy.std's default)
  double median = 0;
  double p90 = 0;
  double p99 = 0;
  double min = 0;
  double max = 0;
};

Distribution summarize(const std::vector<double>& values);

struct BenchMetrics {
  int num_requests = 0;
  int completed = 0;
  int failed = 0;
  double duration_s = 0;
  int64_t total_input_tokens = 0;     // of completed requests
  int64_t total_output_tokens = 0;    // of completed requests
  double request_throughput = 0;      // completed / s
  double output_throughput = 0;       // output tokens / s
  double total_token_throughput = 0;  // (input + output tokens) / s
  std::optional<int> good_requests;   // set when an SLO was given
  std::optional<double> goodput;      // good_requests / s
  Distribution ttft_s, tpot_s, itl_s, e2e_s;
};

BenchMetrics compute_metrics(const std::vector<RequestRecord>& records, double duration_s,
                             const Slo& slo);

// TPOT of one successful record, 0 when it has at most one output token.
double tpot_of(const RequestRecord& r);

}  // namespace pdserve::bench
