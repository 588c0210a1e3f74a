#include "cli/runner_flags.h"

#include <CLI/CLI.hpp>

#include "cli/progress_bar.h"
#include "cli/structured_vocabulary.h"
#include "common/base/logging.h"

namespace pdserve::cli {

void add_runner_flags(CLI::App& app, RunnerFlags& f) {
  app.add_option("--model", f.model_dir, "Hugging Face checkpoint folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--device", f.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  app.add_option("--threads", f.threads, "CPU threads (0: every core)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--kv-cache-mb", f.kv_cache_mb, "KV cache memory in MiB")
      ->check(CLI::Range(1, 1 << 22));
  app.add_option("--gpu-memory-utilization", f.gpu_memory_utilization,
                 "fraction of the GPU this process may take, weights plus KV cache (CUDA; "
                 "sizes the KV cache instead of --kv-cache-mb; 0: off)")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--block-size", f.block_size, "tokens per KV block")->check(CLI::Range(1, 1024));
  app.add_option("--max-model-len", f.max_model_len, "context length (0: the model's)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--swap-space", f.swap_space_gib,
                 "GiB of host memory for KV blocks swapped out (--preemption-mode swap)")
      ->check(CLI::Range(0.0, 1024.0));
  app.add_flag("--enforce-eager", f.enforce_eager,
               "run every step op by op (no CUDA graphs of decode steps)");
}

Result<std::unique_ptr<backend::Backend>> make_backend(const RunnerFlags& f) {
  if (f.device == "cuda" || (f.device == "auto" && backend::cuda_available())) {
    auto cuda = backend::make_cuda_backend(0);
    if (!cuda.ok()) return cuda.status().with_context("--device " + f.device);
    return std::move(cuda).value();
  }
  return backend::make_cpu_backend(f.threads);
}

Result<std::unique_ptr<runner::LlmRunner>> load_runner(const RunnerFlags& f, int max_graph_batch) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<backend::Backend> be, make_backend(f));
  runner::LlmRunnerOptions options;
  options.block_size = f.block_size;
  options.kv_cache_bytes = static_cast<size_t>(f.kv_cache_mb) << 20;
  options.gpu_memory_utilization = f.gpu_memory_utilization;
  options.max_model_len = f.max_model_len;
  options.host_kv_cache_bytes = static_cast<size_t>(f.swap_space_gib * double(size_t{1} << 30));
  PD_ASSIGN_OR_RETURN(options.fault, runner::step_fault_from_env());
  ProgressBar bar("loading weights");
  auto result =
      runner::LlmRunner::load(f.model_dir, std::move(be), options,
                              [&bar](size_t done, size_t total) { bar.update(done, total); });
  bar.finish();
  if (!result.ok()) return result;
  // Structured outputs need the tokenizer's bytes; a model without them
  // still serves, and refuses constrained requests (LlmRunner::make_grammar).
  auto compiler = load_grammar_compiler(f.model_dir, (*result)->eos_token_ids());
  if (compiler.ok()) {
    (*result)->set_grammar_compiler(std::move(compiler).value());
  } else {
    PD_LOG(WARN) << "structured outputs off: " << compiler.status().message();
  }
  if (!f.enforce_eager && max_graph_batch > 0) (*result)->use_decode_graphs(max_graph_batch);
  return result;
}

}  // namespace pdserve::cli
