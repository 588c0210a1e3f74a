// Everything a `pdserve bench serve` run is told, as plain values, and the
// checks on them. Every error is one line naming the flag.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/slo.h"
#include "common/base/status.h"

namespace pdserve::bench {

inline constexpr double kInfiniteRate = std::numeric_limits<double>::infinity();

struct BenchConfig {
  std::string base_url = "http://127.0.0.1:8000";
  std::string endpoint = "/v1/completions";
  std::string model;
  std::string api_key;             // never written to the result
  std::string tokenizer;           // directory holding tokenizer.json, or the file
  std::string dataset = "random";  // random | sharegpt | prefix
  std::string dataset_path;
  int num_prompts = 1000;
  int input_len = 1024;
  int output_len = 128;
  double range_ratio = 0.0;
  int prefix_len = 512;
  int num_prefixes = 4;
  std::optional<int> sharegpt_output_len;
  bool ignore_eos = true;
  double temperature = 0.0;
  uint64_t seed = 0;
  std::string request_rate = "inf";  // --request-rate
  std::string request_rates;         // --request-rates (a sweep); wins when set
  double burstiness = 1.0;
  int max_concurrency = 0;  // 0: unbounded
  int num_warmups = 0;      // requests sent (and not measured) before the first run
  std::string slo;          // --slo text
  std::string output_json;
  double timeout_s = 600;  // longest silence within one stream

  // Filled by validate_config():
  std::vector<double> rates;
  Slo parsed_slo;
  bool chat = false;      // the endpoint is a chat endpoint
  bool internal = false;  // pdserve's internal /internal/v1/generate (router overhead)
};

// Checks every field and fills the derived ones.
Status validate_config(BenchConfig& config);

// "inf" or a positive number; errors name `flag`.
Result<double> parse_rate(std::string_view text, std::string_view flag);
// "1,2,4,inf".
Result<std::vector<double>> parse_rates(std::string_view text, std::string_view flag);
// "inf" or the shortest decimal form of the rate ("2", "0.5").
std::string rate_name(double rate);

// The result file of one rate: the path itself for a single rate, else
// "-rate<R>" before the extension: out.json -> out-rate2.json, out-rateinf.json.
std::string output_path_for_rate(const std::string& path, double rate, bool sweep);

}  // namespace pdserve::bench
