// The demo pair (models/pdserve-demo, -draft) on the CPU backend, with and
// without speculation, for the speculative-decoding tests.
#pragma once

#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "common/base/logging.h"
#include "engine/engine.h"
#include "engine/spec/proposer_factory.h"

namespace pdserve::spec {

inline const std::filesystem::path kDemoDir =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo";
inline const std::filesystem::path kDraftDir =
    std::filesystem::path(PDSERVE_SOURCE_DIR) / "models" / "pdserve-demo-draft";

inline SpeculativeConfig ngram_config(int k = 4) {
  SpeculativeConfig c;
  c.method = SpecMethod::kNgram;
  c.num_speculative_tokens = k;
  c.prompt_lookup_min = 2;
  c.prompt_lookup_max = 4;
  c.disable_by_batch_size = 1 << 16;  // above every test's enqueued requests
  return c;
}

inline SpeculativeConfig draft_config(int k = 4) {
  SpeculativeConfig c = ngram_config(k);
  c.method = SpecMethod::kDraftModel;
  c.model = kDraftDir.string();
  return c;
}

// The demo target alone on the CPU backend.
inline std::unique_ptr<runner::LlmRunner> cpu_target() {
  runner::LlmRunnerOptions options;
  options.num_blocks = 512;
  auto t = runner::LlmRunner::load(kDemoDir, backend::make_cpu_backend(0), options);
  PD_CHECK(t.ok()) << t.status().to_string();
  return std::move(t).value();
}

// A target runner, optionally wrapped for speculation, and an engine on it.
struct DemoEngine {
  std::unique_ptr<runner::LlmRunner> target;
  std::unique_ptr<SpecDecodeRunner> spec;
  std::unique_ptr<engine::Engine> engine;

  static DemoEngine make(engine::EngineConfig config, const SpeculativeConfig* spec_config,
                         int num_blocks = 512, int max_model_len = 0) {
    DemoEngine d;
    runner::LlmRunnerOptions options;
    options.num_blocks = num_blocks;
    options.num_host_blocks = 64;
    options.max_model_len = max_model_len;
    auto t = runner::LlmRunner::load(kDemoDir, backend::make_cpu_backend(0), options);
    PD_CHECK(t.ok()) << t.status().to_string();
    d.target = std::move(t).value();
    runner::ModelRunner* r = d.target.get();
    if (spec_config) {
      auto s = create_spec_runner(*spec_config, d.target.get(), backend::make_cpu_backend(0), 0);
      PD_CHECK(s.ok()) << s.status().to_string();
      d.spec = std::move(s).value();
      apply_to_scheduler(*spec_config, &config.scheduler);
      r = d.spec.get();
    }
    auto e = engine::Engine::create(config, r);
    PD_CHECK(e.ok()) << e.status().to_string();
    d.engine = std::move(e).value();
    return d;
  }

  // Every block free (cached ones count as free) and the books balance.
  bool all_blocks_free() const {
    const scheduler::SchedulerStats s = engine->stats();
    return engine->check_invariants().ok() && s.kv.num_referenced == 0 &&
           s.kv.num_free + s.kv.num_cached_free == s.kv.num_blocks;
  }
};

// Greedy continuation of `prompt`, no speculation: a recitation the demo
// model knows, to build prompts whose continuations the proposers can guess.
inline std::vector<int32_t> recite(const std::vector<int32_t>& prompt, int num_tokens) {
  engine::EngineConfig config;
  DemoEngine d = DemoEngine::make(config, nullptr);
  engine::RequestSpec s;
  s.request_id = 1;
  s.prompt_ids = prompt;
  s.sampling.temperature = 0.0f;
  s.sampling.max_tokens = num_tokens;
  s.sampling.ignore_eos = true;
  auto r = d.engine->generate({s});
  PD_CHECK(r.ok()) << r.status().to_string();
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), (*r)[0].token_ids.begin(), (*r)[0].token_ids.end());
  return all;
}

// A prompt the proposers can guess: a passage the demo model recites, then
// its first 5 to 24 tokens again (n-gram finds the passage).
inline std::vector<int32_t> passage_prompt(std::mt19937& rng) {
  static const std::vector<int32_t> kPassage = recite({0, 1017, 290, 263}, 60);
  std::vector<int32_t> prompt = kPassage;
  const size_t again = 6 + static_cast<size_t>(rng() % 20);
  prompt.insert(prompt.end(), kPassage.begin() + 1,
                kPassage.begin() + static_cast<ptrdiff_t>(again));
  return prompt;
}

// A prompt with nothing to find: 5 to 64 random tokens.
inline std::vector<int32_t> random_prompt(std::mt19937& rng) {
  std::vector<int32_t> prompt;
  const int len = 5 + static_cast<int>(rng() % 60);
  for (int t = 0; t < len; ++t) prompt.push_back(5 + static_cast<int32_t>(rng() % 4000));
  return prompt;
}

}  // namespace pdserve::spec
