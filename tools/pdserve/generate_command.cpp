#include "tools/pdserve/generate_command.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>

#include "engine/engine.h"
#include "tools/pdserve/engine_flags.h"
#include "tools/pdserve/runner_flags.h"
#include "tools/pdserve/sampling_flags.h"

namespace pdserve::cli {
namespace {

struct GenerateFlags {
  RunnerFlags runner;
  EngineFlags engine;
  SamplingFlags sampling;
  std::vector<int> prompt_ids;
};

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
  auto config = engine_config(f.engine);
  if (!config.ok()) return fail(config.status());
  auto eng = engine::Engine::create(*config, runner->get());
  if (!eng.ok()) return fail(eng.status());
  engine::RequestSpec spec;
  spec.request_id = 1;
  spec.prompt_ids.assign(f.prompt_ids.begin(), f.prompt_ids.end());
  spec.sampling = *params;
  const auto start = std::chrono::steady_clock::now();
  auto results = (*eng)->generate({spec});
  if (!results.ok()) return fail(results.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const engine::GenerateResult& g = (*results)[0];
  for (size_t i = 0; i < g.token_ids.size(); ++i) std::cout << (i ? " " : "") << g.token_ids[i];
  std::cout << "\n";
  if (params->num_logprobs >= 0) {
    for (size_t i = 0; i < g.token_ids.size(); ++i) std::cout << g.token_ids[i] << "\t" << g.logprobs[i] << "\n";
  }
  std::fprintf(stderr, "prompt tokens: %zu, generated tokens: %zu (finish: %s), %.2f s, %.1f tokens/s\n",
               spec.prompt_ids.size(), g.token_ids.size(),
               std::string(scheduler::finish_reason_name(g.finish_reason)).c_str(), seconds,
               g.token_ids.size() / std::max(seconds, 1e-9));
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* cmd = app.add_subcommand("generate", "generate a continuation offline");
  add_runner_flags(*cmd, flags->runner);
  add_engine_flags(*cmd, flags->engine);
  add_sampling_flags(*cmd, flags->sampling);
  cmd->add_option("--prompt-ids", flags->prompt_ids, "prompt as token ids")->delimiter(',');
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
