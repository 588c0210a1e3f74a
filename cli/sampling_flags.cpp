#include "cli/sampling_flags.h"

#include <CLI/CLI.hpp>

namespace pdserve::cli {

void add_distribution_flags(CLI::App& app, protocol::SamplingParams& p) {
  app.add_option("--temperature", p.temperature, "0 for greedy")->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", p.top_k, "0 or -1: off")->check(CLI::Range(-1, 1 << 30));
  app.add_option("--top-p", p.top_p, "nucleus sampling, (0, 1]")->check(CLI::Range(1e-6, 1.0));
  app.add_option("--min-p", p.min_p, "[0, 1]")->check(CLI::Range(0.0, 1.0));
  app.add_option("--repetition-penalty", p.repetition_penalty, "(0, 10]")
      ->check(CLI::Range(1e-6, 10.0));
  app.add_option("--presence-penalty", p.presence_penalty, "[-2, 2]")->check(CLI::Range(-2.0, 2.0));
  app.add_option("--frequency-penalty", p.frequency_penalty, "[-2, 2]")
      ->check(CLI::Range(-2.0, 2.0));
  app.add_option("--logprobs", p.num_logprobs, "top log-probabilities per token (-1: none)")
      ->check(CLI::Range(-1, 20));
}

void add_sampling_flags(CLI::App& app, SamplingFlags& f) {
  protocol::SamplingParams& p = f.params;
  p.max_tokens = 64;
  app.add_option("--max-tokens", p.max_tokens, "tokens to generate")->check(CLI::Range(1, 1 << 20));
  app.add_option("--min-tokens", p.min_tokens, "stop tokens are masked before this many")
      ->check(CLI::NonNegativeNumber);
  add_distribution_flags(app, p);
  app.add_option("--seed", f.seed, "same seed, same output");
  app.add_option("--stop-token-ids", f.stop_token_ids, "extra stop token ids")->delimiter(',');
  app.add_flag("--ignore-eos", p.ignore_eos, "keep generating past end-of-sequence tokens");
}

Result<protocol::SamplingParams> sampling_params(const SamplingFlags& f) {
  protocol::SamplingParams p = f.params;
  if (f.seed >= 0) p.seed = static_cast<uint64_t>(f.seed);
  if (p.top_k < 0) p.top_k = 0;
  if (p.min_tokens > p.max_tokens)
    return invalid_argument("--min-tokens " + std::to_string(p.min_tokens) +
                            " exceeds --max-tokens " + std::to_string(p.max_tokens));
  for (int t : f.stop_token_ids) {
    if (t < 0) return invalid_argument("--stop-token-ids: negative id " + std::to_string(t));
    p.stop_token_ids.push_back(t);
  }
  return p;
}

}  // namespace pdserve::cli
