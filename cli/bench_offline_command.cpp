#include "cli/bench_offline_command.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "cli/engine_flags.h"
#include "cli/progress_bar.h"
#include "cli/runner_flags.h"
#include "cli/speculative_flags.h"
#include "engine/backend/device_peaks.h"
#include "engine/engine.h"
#include "engine/runner/model_cost.h"

namespace pdserve::cli {
namespace {

struct BenchFlags {
  RunnerFlags runner;
  EngineFlags engine;
  SpeculativeFlags speculative;
  int num_prompts = 64;
  int input_len = 128;
  int output_len = 64;
  double range_ratio = 0.0;
  int seed = 0;
  std::vector<int32_t> prompt_ids;  // every request's prompt (empty: random ones)
  std::string output_json;
};

int length(std::mt19937& rng, int mean, double ratio) {
  if (ratio <= 0) return mean;
  const int lo = std::max(1, static_cast<int>(mean * (1 - ratio))),
            hi = std::max(lo, static_cast<int>(mean * (1 + ratio)));
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// The workload's floor: its prefill FLOPs at the GEMM rate plus its decode
// bytes at the copy rate, the decode steps as few as max_num_seqs allows
// (each reads the weights once) and every decoded token reading its
// sequence's KV. Zero parts where the device has no measured peak.
struct Floor {
  double prefill_s = 0, decode_s = 0;
};

Floor workload_floor(const runner::ModelCost& cost, const std::vector<engine::RequestSpec>& specs,
                     int max_num_seqs, const backend::DevicePeaks& peaks) {
  double prefill_flops = 0, kv_bytes = 0, decoded = 0;
  for (const engine::RequestSpec& s : specs) {
    const double in = static_cast<double>(s.prompt_ids.size()), out = s.sampling.max_tokens;
    prefill_flops += cost.prefill_flops(in);
    // Tokens 2..out decode at contexts in+1 .. in+out-1 (the first comes with the prefill).
    decoded += out - 1;
    kv_bytes += (out - 1) * (in + out / 2.0) * cost.kv_bytes_per_token();
  }
  const double steps = std::ceil(decoded / max_num_seqs);
  const double bytes =
      steps * cost.step_weight_bytes() + kv_bytes + decoded * cost.embedding_row_bytes();
  Floor f;
  if (peaks.gemm_flops_per_s > 0) f.prefill_s = prefill_flops / peaks.gemm_flops_per_s;
  if (peaks.copy_bytes_per_s > 0) f.decode_s = bytes / peaks.copy_bytes_per_s;
  return f;
}

int run(const BenchFlags& f) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve bench offline: %s\n", s.message().c_str());
    return 1;
  };
  auto config = engine_config(f.engine);
  if (!config.ok()) return fail(config.status());
  auto runner = load_runner(f.runner, config->scheduler.max_num_seqs);
  if (!runner.ok()) return fail(runner.status());
  auto spec_runner = speculative_runner(f.speculative, f.runner, runner->get(), &*config);
  if (!spec_runner.ok()) return fail(spec_runner.status());
  runner::ModelRunner* engine_runner = runner->get();
  if (*spec_runner) engine_runner = spec_runner->get();
  auto eng = engine::Engine::create(*config, engine_runner);
  if (!eng.ok()) return fail(eng.status());
  engine::Engine& e = **eng;

  std::mt19937 rng(static_cast<uint32_t>(f.seed));
  const int vocab = (*runner)->config().vocab_size;
  for (int32_t t : f.prompt_ids) {
    if (t < 0 || t >= vocab)
      return fail(invalid_argument("--prompt-ids: token id " + std::to_string(t) +
                                   " outside the vocabulary of " + std::to_string(vocab)));
  }
  std::vector<engine::RequestSpec> specs;
  int64_t prompt_tokens = 0;
  for (int i = 0; i < f.num_prompts; ++i) {
    engine::RequestSpec s;
    s.request_id = static_cast<uint64_t>(i + 1);
    const int in = f.prompt_ids.empty() ? length(rng, f.input_len, f.range_ratio)
                                        : static_cast<int>(f.prompt_ids.size());
    s.prompt_ids = f.prompt_ids;
    for (int t = 0; t < in && f.prompt_ids.empty(); ++t)
      s.prompt_ids.push_back(std::uniform_int_distribution<int>(0, vocab - 1)(rng));
    s.sampling.temperature = 0.0f;
    s.sampling.ignore_eos = true;
    s.sampling.max_tokens = length(rng, f.output_len, f.range_ratio);
    prompt_tokens += in;
    specs.push_back(std::move(s));
  }

  ProgressBar bar("requests", specs.size());
  const auto start = std::chrono::steady_clock::now();
  size_t next = 0, finished = 0;
  int64_t output_tokens = 0;
  while (finished < specs.size()) {
    while (next < specs.size()) {
      Status s = e.add_request(specs[next]);
      if (s.code() == StatusCode::kResourceExhausted) break;  // queue full: step first
      if (!s.ok()) return fail(s);
      ++next;
    }
    auto outputs = e.step();
    if (!outputs.ok()) return fail(outputs.status());
    for (const auto& o : *outputs) {
      output_tokens += static_cast<int64_t>(o.new_tokens.size());
      if (o.finished) bar.update(++finished);
    }
  }
  bar.finish();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto peaks = backend::measure_device_peaks((*runner)->backend());
  const Floor floor = peaks.ok() ? workload_floor(runner::ModelCost::of(**runner), specs,
                                                  config->scheduler.max_num_seqs, *peaks)
                                 : Floor{};
  const double floor_s = floor.prefill_s + floor.decode_s;
  std::printf("requests:            %d\n", f.num_prompts);
  std::printf("prompt tokens:       %lld\n", static_cast<long long>(prompt_tokens));
  std::printf("output tokens:       %lld\n", static_cast<long long>(output_tokens));
  std::printf("elapsed:             %.2f s\n", secs);
  std::printf("requests/s:          %.2f\n", f.num_prompts / secs);
  std::printf("output tokens/s:     %.1f\n", output_tokens / secs);
  std::printf("total tokens/s:      %.1f\n", (prompt_tokens + output_tokens) / secs);
  if (peaks.ok())
    std::printf(
        "floor:               %.3f s (prefill %.3f s at %.0f TFLOP/s, decode %.3f s at "
        "%.0f GB/s on %s): %.1f%% of it\n",
        floor_s, floor.prefill_s, peaks->gemm_flops_per_s / 1e12, floor.decode_s,
        peaks->copy_bytes_per_s / 1e9, peaks->device_name.c_str(), 100.0 * floor_s / secs);
  else
    std::printf("floor:               unknown (%s)\n", peaks.status().message().c_str());
  if (!(*runner)->decode_graph_kernels().empty())
    std::printf("CUDA graph steps:    %lld\n",
                static_cast<long long>((*runner)->num_graph_steps()));
  const scheduler::SpecDecodeStats spec = e.stats().spec_decode;
  if (*spec_runner) std::printf("%s\n", spec_decode_summary(spec).c_str());
  if (!f.output_json.empty()) {
    nlohmann::json j = {{"model", std::filesystem::path(f.runner.model_dir).filename().string()},
                        {"num_prompts", f.num_prompts},
                        {"prompt_tokens", prompt_tokens},
                        {"output_tokens", output_tokens},
                        {"elapsed_s", secs},
                        {"requests_per_s", f.num_prompts / secs},
                        {"output_tokens_per_s", output_tokens / secs},
                        {"total_tokens_per_s", (prompt_tokens + output_tokens) / secs}};
    if (peaks.ok()) {
      j["device"] = peaks->device_name;
      j["copy_bytes_per_s"] = peaks->copy_bytes_per_s;
      j["gemm_flops_per_s"] = peaks->gemm_flops_per_s;
      j["floor_prefill_s"] = floor.prefill_s;
      j["floor_decode_s"] = floor.decode_s;
      j["of_floor"] = floor_s / secs;
    }
    if (*spec_runner) j["spec_decode"] = nlohmann::json::parse(spec_decode_json(spec));
    std::ofstream out(f.output_json);
    out << j.dump(1) << "\n";
    if (!out) return fail(invalid_argument("cannot write " + f.output_json));
  }
  return 0;
}

}  // namespace

void add_bench_offline_command(CLI::App& bench) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = bench.add_subcommand("offline", "engine throughput on random prompts, no HTTP");
  add_runner_flags(*cmd, flags->runner);
  add_engine_flags(*cmd, flags->engine);
  add_speculative_flags(*cmd, flags->speculative);
  cmd->add_option("--num-prompts", flags->num_prompts, "requests")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--input-len", flags->input_len, "prompt tokens (mean)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--output-len", flags->output_len, "generated tokens (mean)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--range-ratio", flags->range_ratio, "lengths uniform in mean*(1 -+ r)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", flags->seed, "prompt generator seed");
  cmd->add_option("--prompt-ids", flags->prompt_ids,
                  "every request's prompt, as token ids (instead of random prompts of --input-len)")
      ->delimiter(',');
  cmd->add_option("--output-json", flags->output_json, "also write the result as JSON");
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
