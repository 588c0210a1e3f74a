// Micro-benchmark of sampling a decode step's logits [rows, 128256] (the
// Llama-3 vocabulary): the CUDA backend's sample_rows, greedy, temperature
// only and with every parameter on, against the host path it replaces (the
// bf16 logits copied to host fp32, then the CPU backend's sample_rows on one
// thread, as the runner sampled before), each beside the floor: the
// logits' bytes read once at the measured copy bandwidth.
//
//   sample_rows_bench [--json PATH] [rows...]   (default rows: 1 8 64)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/device_peaks.h"
#include "tools/backend_time.h"

namespace pdserve::backend {
namespace {

constexpr int64_t kVocab = 128256;

struct Variant {
  const char* name;
  SamplingRow row;
};

std::vector<Variant> variants() {
  SamplingRow greedy, temperature, all;
  temperature.temperature = 1.0f;
  all.temperature = 0.8f;
  all.top_k = 50;
  all.top_p = 0.9f;
  all.min_p = 0.05f;
  all.repetition_penalty = 1.1f;
  all.presence_penalty = 0.1f;
  all.frequency_penalty = 0.1f;
  all.num_logprobs = 5;
  return {{"greedy", greedy}, {"temperature", temperature}, {"all parameters", all}};
}

// The op's inputs and outputs on one backend for `rows` rows.
struct Batch {
  Tensor logits;
  SamplingBatch in;
  SampledRows out;
};

Batch make_batch(Backend& be, const std::vector<float>& logits, int64_t rows, SamplingRow row) {
  Batch b;
  b.logits = be.alloc(Shape{rows, kVocab}, be.activation_dtype());
  be.copy_from_host(b.logits, logits.data(), DType::kF32);
  std::vector<SamplingRow> params(static_cast<size_t>(rows), row);
  const bool history = has_penalties(row);
  for (int64_t r = 0; r < rows; ++r) {
    params[static_cast<size_t>(r)].seed = static_cast<uint64_t>(r);
    if (history) params[static_cast<size_t>(r)].history_slot = static_cast<int32_t>(r);
  }
  b.in.params = be.alloc(Shape{rows, kSamplingRowWords}, DType::kI32);
  be.copy_from_host(b.in.params, params.data(), DType::kI32);
  if (history) {  // 64 prompt tokens and 64 generated ones per row
    std::vector<int32_t> counts(static_cast<size_t>(rows * kVocab), 0),
        seen(static_cast<size_t>(rows * mask_words(kVocab)), 0);
    std::mt19937 rng(7);
    std::uniform_int_distribution<int64_t> tok(0, kVocab - 1);
    for (int64_t r = 0; r < rows; ++r) {
      for (int i = 0; i < 128; ++i) {  // the first 64 generated (counted), all seen
        const int64_t t = tok(rng);
        if (i < 64) ++counts[static_cast<size_t>(r * kVocab + t)];
        seen[static_cast<size_t>(r * mask_words(kVocab) + t / 32)] |= 1 << (t % 32);
      }
    }
    b.in.output_counts = be.alloc(Shape{rows, kVocab}, DType::kI32);
    b.in.seen = be.alloc(Shape{rows, mask_words(kVocab)}, DType::kI32);
    be.copy_from_host(b.in.output_counts, counts.data(), DType::kI32);
    be.copy_from_host(b.in.seen, seen.data(), DType::kI32);
  }
  b.out.token_ids = be.alloc(Shape{rows}, DType::kI32);
  if (row.num_logprobs >= 0) {
    b.out.logprobs = be.alloc(Shape{rows}, DType::kF32);
    b.out.top_ids = be.alloc(Shape{rows, row.num_logprobs}, DType::kI32);
    b.out.top_logprobs = be.alloc(Shape{rows, row.num_logprobs}, DType::kF32);
  }
  return b;
}

int run(int argc, char** argv) {
  std::string json_path;
  std::vector<int64_t> sizes;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      const long v = std::strtol(a.c_str(), nullptr, 10);
      if (v < 1 || v > 4096) {
        std::fprintf(stderr, "sample_rows_bench: rows must be 1-4096, got %s\n", a.c_str());
        return 1;
      }
      sizes.push_back(v);
    }
  }
  if (sizes.empty()) sizes = {1, 8, 64};
  auto gpu = make_cuda_backend(0);
  if (!gpu.ok()) {
    std::fprintf(stderr, "sample_rows_bench: %s\n", gpu.status().message().c_str());
    return 1;
  }
  std::unique_ptr<Backend> cpu = make_cpu_backend(1);
  auto peaks = measure_device_peaks(**gpu);
  const double bw = peaks.ok() ? peaks->copy_bytes_per_s : 0;
  nlohmann::json j = {{"gpu", peaks.ok() ? peaks->device_name : (*gpu)->name()},
                      {"copy_bytes_per_s", bw},
                      {"vocab", kVocab},
                      {"figures", nlohmann::json::array()}};
  std::printf("device: %s   copy bandwidth: %.0f GB/s   vocabulary: %lld\n",
              j["gpu"].get<std::string>().c_str(), bw / 1e9, static_cast<long long>(kVocab));
  std::printf("%-6s %-16s %12s %14s %12s\n", "rows", "sampling", "GPU (ms)", "host path (ms)",
              "floor (ms)");
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 3.0f);
  for (int64_t rows : sizes) {
    std::vector<float> logits(static_cast<size_t>(rows * kVocab));
    for (float& v : logits) v = d(rng);
    const double floor_ms = bw ? 1e3 * static_cast<double>(rows * kVocab * 2) / bw : 0;
    for (const Variant& v : variants()) {
      Batch g = make_batch(**gpu, logits, rows, v.row);
      const double gpu_ms = time_ms(**gpu, 20, [&] { (*gpu)->sample_rows(g.logits, g.in, g.out); });
      Batch c = make_batch(*cpu, logits, rows, v.row);
      std::vector<float> host(static_cast<size_t>(rows * kVocab));
      const double host_ms = time_ms(*cpu, 2, [&] {
        (*gpu)->copy_to_host(g.logits, host.data());
        cpu->sample_rows(c.logits, c.in, c.out);
      });
      std::printf("%-6lld %-16s %12.3f %14.3f %12.4f\n", static_cast<long long>(rows), v.name,
                  gpu_ms, host_ms, floor_ms);
      j["figures"].push_back({{"rows", rows},
                              {"sampling", v.name},
                              {"gpu_seconds", gpu_ms / 1e3},
                              {"host_path_seconds", host_ms / 1e3},
                              {"floor_seconds", floor_ms / 1e3}});
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << j.dump(1) << "\n";
    if (!out) {
      std::fprintf(stderr, "sample_rows_bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace pdserve::backend

int main(int argc, char** argv) {
  return pdserve::backend::run(argc, argv);
}
