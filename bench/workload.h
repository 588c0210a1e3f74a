// Workload generators: the prompts of a benchmark run. Each returns exactly
// num_prompts requests, deterministic for a seed, or a one-line error naming
// the problem (and the flag or file it comes from).
//
//   random   prompts of input_len tokens (uniform in [len*(1-r), len*(1+r)]),
//            output_len likewise; as token ids and as text of the same tokens
//   sharegpt first human turn of each conversation as prompt, the gpt reply's
//            token count as output length (or a fixed one); vLLM's filters
//   prefix   num_prefixes shared prefixes of prefix_len tokens, request i
//            uses prefix i % num_prefixes followed by its own question
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_request.h"
#include "common/base/status.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::bench {

struct RandomWorkloadOptions {
  int num_prompts = 1000;
  int input_len = 1024;
  int output_len = 128;
  double range_ratio = 0.0;
  uint64_t seed = 0;
};

struct ShareGptOptions {
  int num_prompts = 1000;
  std::optional<int> output_len;  // fixed output length instead of the reply's
  uint64_t seed = 0;
};

struct PrefixWorkloadOptions {
  int num_prompts = 1000;
  int num_prefixes = 4;
  int prefix_len = 512;
  int input_len = 128;  // question tokens after the prefix
  int output_len = 128;
  double range_ratio = 0.0;  // applies to question and output lengths
  uint64_t seed = 0;
};

// vLLM's ShareGPT filters (benchmark_dataset.is_valid_sequence).
inline constexpr int kShareGptMinLen = 4;  // prompt and reply, tokens
inline constexpr int kShareGptMaxPromptLen = 1024;
inline constexpr int kShareGptMaxTotalLen = 2048;  // prompt + output

// Lengths uniform in [int(len*(1-r)), int(len*(1+r))], at least 1 (vLLM's random dataset).
int draw_length(std::mt19937_64& rng, int len, double range_ratio);

Result<std::vector<BenchRequest>> random_workload(const tokenizer::Tokenizer& tok,
                                                  const RandomWorkloadOptions& o);
Result<std::vector<BenchRequest>> prefix_workload(const tokenizer::Tokenizer& tok,
                                                  const PrefixWorkloadOptions& o);
// Reads a ShareGPT JSON file: [{"conversations": [{"from": "human"|"gpt", "value": "..."}]}].
Result<std::vector<BenchRequest>> sharegpt_workload(const tokenizer::Tokenizer& tok,
                                                    const std::string& path,
                                                    const ShareGptOptions& o);
// The same from the file's text (`name` appears in errors).
Result<std::vector<BenchRequest>> sharegpt_workload_from_json(const tokenizer::Tokenizer& tok,
                                                              std::string_view json,
                                                              const std::string& name,
                                                              const ShareGptOptions& o);

}  // namespace pdserve::bench
