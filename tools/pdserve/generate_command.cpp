#include "tools/pdserve/generate_command.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "tools/pdserve/runner_flags.h"
#include "tools/pdserve/sampling_flags.h"

namespace pdserve::cli {
namespace {

struct GenerateFlags {
  RunnerFlags runner;
  SamplingFlags sampling;
  std::vector<int> prompt_ids;
};

struct Generation {
  std::vector<int32_t> tokens;
  std::vector<runner::SampledToken> sampled;
  std::string finish_reason;
  double prefill_seconds = 0, decode_seconds = 0;
};

bool is_stop(const runner::SamplingParams& p, const std::vector<int32_t>& eos, int32_t t) {
  if (!p.ignore_eos && std::find(eos.begin(), eos.end(), t) != eos.end()) return true;
  return std::find(p.stop_token_ids.begin(), p.stop_token_ids.end(), t) != p.stop_token_ids.end();
}

// One sequence, prefill then decode, on blocks [0, n) of the runner's pool.
Result<Generation> generate_one(runner::ModelRunner& r, const std::vector<int32_t>& prompt,
                                const runner::SamplingParams& params) {
  const int64_t total = static_cast<int64_t>(prompt.size()) + params.max_tokens;
  if (total > r.max_model_len())
    return invalid_argument("prompt (" + std::to_string(prompt.size()) + " tokens) plus --max-tokens " +
                            std::to_string(params.max_tokens) + " exceeds the context length " +
                            std::to_string(r.max_model_len()));
  const int64_t blocks = (total + r.block_size() - 1) / r.block_size();
  if (blocks > r.num_blocks())
    return resource_exhausted("the KV cache holds " + std::to_string(r.num_blocks()) + " blocks, " +
                              std::to_string(blocks) + " needed: raise --kv-cache-mb");
  runner::SequenceInfo info{1, prompt, params, {}};
  PD_RETURN_IF_ERROR(r.add_sequence(info));
  runner::SeqStep step{1, prompt, 0, {}, true};
  for (int32_t b = 0; b < blocks; ++b) step.block_table.push_back(b);
  Generation g;
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now(), t1 = t0;
  for (;;) {
    PD_ASSIGN_OR_RETURN(runner::StepOutput out, r.execute(runner::StepBatch{{}, {}, {step}}));
    if (g.tokens.empty()) t1 = Clock::now();
    const runner::SampledToken& tok = out.sampled.at(0);
    g.tokens.push_back(tok.token_id);
    g.sampled.push_back(tok);
    if (is_stop(params, r.eos_token_ids(), tok.token_id)) {
      g.finish_reason = "stop";
      break;
    }
    if (static_cast<int>(g.tokens.size()) >= params.max_tokens) {
      g.finish_reason = "length";
      break;
    }
    step.num_computed += static_cast<int32_t>(step.input_ids.size());
    step.input_ids = {runner::kLastSampled};
  }
  r.remove_sequence(1);
  g.prefill_seconds = std::chrono::duration<double>(t1 - t0).count();
  g.decode_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  return g;
}

int run(const GenerateFlags& f) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve generate: %s\n", s.message().c_str());
    return 1;
  };
  auto params = sampling_params(f.sampling);
  if (!params.ok()) return fail(params.status());
  if (f.prompt_ids.empty()) return fail(invalid_argument("give a prompt: --prompt-ids 1,2,3"));
  auto runner = load_runner(f.runner);
  if (!runner.ok()) return fail(runner.status());
  std::vector<int32_t> prompt(f.prompt_ids.begin(), f.prompt_ids.end());
  auto g = generate_one(**runner, prompt, *params);
  if (!g.ok()) return fail(g.status());
  for (size_t i = 0; i < g->tokens.size(); ++i) std::cout << (i ? " " : "") << g->tokens[i];
  std::cout << "\n";
  if (params->num_logprobs >= 0) {
    for (const runner::SampledToken& t : g->sampled) {
      std::cout << t.token_id << "\t" << t.logprob;
      for (const runner::TokenLogprob& lp : t.top) std::cout << "\t" << lp.token_id << ":" << lp.logprob;
      std::cout << "\n";
    }
  }
  const double decode_tps = g->tokens.size() > 1 ? (g->tokens.size() - 1) / g->decode_seconds : 0.0;
  std::fprintf(stderr,
               "prompt tokens: %zu, generated tokens: %zu (finish: %s), prefill %.1f tokens/s, "
               "decode %.1f tokens/s\n",
               prompt.size(), g->tokens.size(), g->finish_reason.c_str(),
               prompt.size() / std::max(g->prefill_seconds, 1e-9), decode_tps);
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "generate a continuation offline");
  add_runner_flags(*cmd, flags->runner);
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_option("--prompt-ids", flags->prompt_ids, "prompt as token ids")->delimiter(',');
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
