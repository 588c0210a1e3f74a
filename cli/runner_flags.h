// Command-line flags that choose and size the engine (model, device, KV
// cache), shared by the commands that run a model.
#pragma once

#include <memory>
#include <string>

#include "common/base/status.h"
#include "engine/runner/llm_runner.h"

namespace CLI {
class App;
}

namespace pdserve::cli {

struct RunnerFlags {
  std::string model_dir;
  std::string device = "auto";  // cpu | cuda | auto
  int threads = 0;              // CPU threads (0: every core)
  int kv_cache_mb = 512;
  double gpu_memory_utilization = 0;  // > 0: KV pool sized from the GPU share instead
  int block_size = 16;
  int max_model_len = 0;
  double swap_space_gib = 0;   // host KV tier for swap preemption
  bool enforce_eager = false;  // no CUDA graphs
};

void add_runner_flags(CLI::App& app, RunnerFlags& flags);

// The backend --device and --threads pick.
Result<std::unique_ptr<backend::Backend>> make_backend(const RunnerFlags& flags);

// Loads the model with a progress bar on a terminal, then records CUDA
// graphs of decode steps of up to max_graph_batch sequences (none when 0,
// with --enforce-eager, or on the CPU).
Result<std::unique_ptr<runner::LlmRunner>> load_runner(const RunnerFlags& flags,
                                                       int max_graph_batch);

}  // namespace pdserve::cli
