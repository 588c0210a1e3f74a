#include "cli/engine_flags.h"

#include <CLI/CLI.hpp>

namespace pdserve::cli {

void add_engine_flags(CLI::App& app, EngineFlags& f) {
  scheduler::SchedulerConfig& s = f.config.scheduler;
  app.add_option("--max-num-seqs", s.max_num_seqs, "requests in the running batch")
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--max-num-batched-tokens", s.max_num_batched_tokens, "tokens computed per step")
      ->check(CLI::Range(1, 1 << 20));
  app.add_option("--max-waiting-requests", s.max_waiting_requests, "queue bound (429 past it)")
      ->check(CLI::Range(1, 1 << 24));
  app.add_option("--preemption-mode", f.preemption_mode, "recompute or swap")
      ->check(CLI::IsMember({"recompute", "swap"}));
  app.add_flag("--no-prefix-caching", f.no_prefix_caching,
               "do not reuse KV of shared prompt prefixes");
  app.add_flag("--async-scheduling", f.config.async_scheduling,
               "prepare step N+1 while step N runs");
}

Result<engine::EngineConfig> engine_config(const EngineFlags& f) {
  engine::EngineConfig c = f.config;
  c.scheduler.enable_prefix_caching = !f.no_prefix_caching;
  c.scheduler.preemption_mode = f.preemption_mode == "swap" ? scheduler::PreemptionMode::kSwap
                                                            : scheduler::PreemptionMode::kRecompute;
  PD_RETURN_IF_ERROR(scheduler::validate(c.scheduler));
  return c;
}

}  // namespace pdserve::cli
