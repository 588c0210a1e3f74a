// The random and prefix workloads: prompts made of random tokens.
#include <algorithm>

#include "bench/prompt_synthesizer.h"
#include "bench/workload.h"

namespace pdserve::bench {

int draw_length(std::mt19937_64& rng, int len, double range_ratio) {
  const int lo = std::max(1, static_cast<int>(len * (1.0 - range_ratio)));
  const int hi = std::max(lo, static_cast<int>(len * (1.0 + range_ratio)));
  if (lo == hi) return lo;
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

Result<std::vector<BenchRequest>> random_workload(const tokenizer::Tokenizer& tok,
                                                  const RandomWorkloadOptions& o) {
  std::mt19937_64 rng(o.seed);
  PromptSynthesizer synth(tok, o.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<BenchRequest> out;
  out.reserve(static_cast<size_t>(o.num_prompts));
  for (int i = 0; i < o.num_prompts; ++i) {
    const int in = draw_length(rng, o.input_len, o.range_ratio);
    const int outlen = draw_length(rng, o.output_len, o.range_ratio);
    PD_ASSIGN_OR_RETURN(SyntheticPrompt p, synth.make(in));
    BenchRequest r;
    r.prompt_ids = std::move(p.ids);
    r.prompt_text = std::move(p.text);
    r.input_len = in;
    r.output_len = outlen;
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<BenchRequest>> prefix_workload(const tokenizer::Tokenizer& tok,
                                                  const PrefixWorkloadOptions& o) {
  if (o.num_prefixes < 1) return invalid_argument("--num-prefixes must be at least 1");
  std::mt19937_64 rng(o.seed);
  PromptSynthesizer synth(tok, o.seed ^ 0x9e3779b97f4a7c15ULL);
  std::vector<SyntheticPrompt> prefixes;
  for (int i = 0; i < o.num_prefixes; ++i) {
    PD_ASSIGN_OR_RETURN(SyntheticPrompt p, synth.make(o.prefix_len));
    prefixes.push_back(std::move(p));
  }
  std::vector<BenchRequest> out;
  out.reserve(static_cast<size_t>(o.num_prompts));
  for (int i = 0; i < o.num_prompts; ++i) {
    const SyntheticPrompt& prefix = prefixes[static_cast<size_t>(i % o.num_prefixes)];
    const int in = draw_length(rng, o.input_len, o.range_ratio);
    const int outlen = draw_length(rng, o.output_len, o.range_ratio);
    PD_ASSIGN_OR_RETURN(SyntheticPrompt q, synth.make(in));
    BenchRequest r;
    r.prompt_ids = prefix.ids;
    r.prompt_ids.insert(r.prompt_ids.end(), q.ids.begin(), q.ids.end());
    r.system_text = prefix.text;  // chat: the prefix is the system message
    r.prompt_text = std::move(q.text);
    r.input_len = o.prefix_len + in;
    r.output_len = outlen;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace pdserve::bench
