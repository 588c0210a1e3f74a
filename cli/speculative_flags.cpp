#include "cli/speculative_flags.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/spec/proposer_factory.h"
#include "engine/spec/speculative_config.h"

namespace pdserve::cli {

void add_speculative_flags(CLI::App& app, SpeculativeFlags& f) {
  app.add_option("--speculative-config", f.json,
                 R"(speculative decoding, as JSON: {"method":"ngram","num_speculative_tokens":4,)"
                 R"("prompt_lookup_max":4,"prompt_lookup_min":2} or {"method":"draft_model",)"
                 R"("model":DIR,"num_speculative_tokens":4})");
}

Result<std::unique_ptr<spec::SpecDecodeRunner>> speculative_runner(const SpeculativeFlags& f,
                                                                   const RunnerFlags& runner_flags,
                                                                   runner::LlmRunner* target,
                                                                   engine::EngineConfig* config) {
  if (f.json.empty()) return std::unique_ptr<spec::SpecDecodeRunner>();
  auto parsed = spec::parse_speculative_config(f.json);
  if (!parsed.ok()) return parsed.status().with_context("--speculative-config");
  std::unique_ptr<backend::Backend> draft_backend;
  if (parsed->method == spec::SpecMethod::kDraftModel) {
    PD_ASSIGN_OR_RETURN(draft_backend, make_backend(runner_flags));
  }
  auto runner =
      spec::create_spec_runner(*parsed, target, std::move(draft_backend),
                               runner_flags.enforce_eager ? 0 : config->scheduler.max_num_seqs);
  if (!runner.ok()) return runner.status().with_context("--speculative-config");
  spec::apply_to_scheduler(*parsed, &config->scheduler);
  PD_RETURN_IF_ERROR(scheduler::validate(config->scheduler));
  return runner;
}

namespace {

double ratio(int64_t a, int64_t b) {
  return b > 0 ? static_cast<double>(a) / b : 0.0;
}

}  // namespace

std::string spec_decode_summary(const scheduler::SpecDecodeStats& s) {
  char line[256];
  std::snprintf(line, sizeof line,
                "speculative decoding: %lld drafts, %lld proposed tokens, %lld accepted "
                "(acceptance rate %.1f%%, mean accepted length %.2f); per position:",
                static_cast<long long>(s.num_drafts), static_cast<long long>(s.num_draft_tokens),
                static_cast<long long>(s.num_accepted_tokens),
                100.0 * ratio(s.num_accepted_tokens, s.num_draft_tokens),
                ratio(s.num_accepted_tokens, s.num_drafts));
  std::string out = line;
  for (int64_t n : s.num_accepted_tokens_per_pos) {
    std::snprintf(line, sizeof line, " %.1f%%", 100.0 * ratio(n, s.num_drafts));
    out += line;
  }
  return out;
}

std::string spec_decode_json(const scheduler::SpecDecodeStats& s) {
  nlohmann::json per_pos = nlohmann::json::array();
  for (int64_t n : s.num_accepted_tokens_per_pos) per_pos.push_back(n);
  return nlohmann::json{{"num_drafts", s.num_drafts},
                        {"num_draft_tokens", s.num_draft_tokens},
                        {"num_accepted_tokens", s.num_accepted_tokens},
                        {"num_accepted_tokens_per_pos", per_pos},
                        {"acceptance_rate", ratio(s.num_accepted_tokens, s.num_draft_tokens)},
                        {"mean_accepted_length", ratio(s.num_accepted_tokens, s.num_drafts)}}
      .dump();
}

}  // namespace pdserve::cli
