// The values a serving benchmark passes around: one prompt of a workload
// (BenchRequest) and what happened to it (RequestRecord). Plain data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pdserve::bench {

// One prompt of a workload, in both forms a server may take.
struct BenchRequest {
  // Token-id prompt, sent as `"prompt": [ids]` to /v1/completions when not
  // empty (random and prefix workloads): the server sees exactly these tokens.
  std::vector<int32_t> prompt_ids;
  // Text prompt: the user message for /v1/chat/completions, or the
  // `"prompt"` string for /v1/completions when prompt_ids is empty (ShareGPT).
  std::string prompt_text;
  // Chat only: a system message sent before the user message (prefix workload).
  std::string system_text;
  int input_len = 0;   // prompt tokens under the benchmark's tokenizer
  int output_len = 0;  // tokens asked for (max_tokens)
};

// The outcome of one request. Times are seconds; start_s is measured from the
// start of the benchmark, the others from the request's own send time.
struct RequestRecord {
  int64_t id = 0;     // index of the request in the workload
  int input_len = 0;  // as in BenchRequest
  int expected_output_len = 0;
  bool success = false;
  int output_len = 0;  // from the server's usage, else counted with the tokenizer
  bool usage_reported = false;
  int usage_prompt_tokens = -1;  // the server's prompt_tokens, -1 when not reported
  double start_s = 0;
  double ttft_s = 0;          // first chunk that carries content; 0 when none arrived
  double e2e_s = 0;           // until the stream ended
  std::vector<double> itl_s;  // gaps between consecutive content chunks
  std::string generated_text;
  int http_status = 0;  // 0 when no HTTP answer arrived
  std::string error;    // empty when success
};

}  // namespace pdserve::bench
