// attention_bench: the tensor-core prefill attention kernel on the GPU.
//   1. checks each kernel that runs on this GPU (mma.sync with 16 or 32
//      query rows per warp, wgmma on Hopper) against the
//      first-version paged attention kernel (itself tested against the CPU
//      reference) at many shapes: varlen batches, cached prefixes, GQA 1/4/8,
//      head dims 64/128/256, sliding windows;
//   2. times each kernel (CUDA events, median of 20 after 3 warm-ups) at 32
//      query heads / 8 KV heads, d=128: 4096 tokens causal, and 2048 new
//      tokens over a 2048-token cached prefix (plus 8192 tokens, d=64, d=256).
//      FLOPs count causal attention as half.
// Prints a table and writes JSON to argv[1] when given. Exit 1 on a failed check.
// Built by CMake (target attention_bench) or alone with nvcc:
//   scripts/gpu-attention-bench.sh
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend/cuda/bf16.cuh"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/paged_attention.h"
#include "engine/backend/cuda/prefill_attention.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kBlockSize = 16;

__global__ void fill_random(uint16_t* p, int64_t n, uint32_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    uint32_t x = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    x ^= x >> 15;
    x *= 2246822519u;
    x ^= x >> 13;
    p[i] = float_to_bf16_bits(static_cast<float>(x >> 8) / 8388608.0f - 1.0f);
  }
}

__global__ void fill_nan(uint16_t* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x)
    p[i] = 0x7fc0;
}

struct Shape {
  int heads, kv_heads, head_dim, window;
  std::vector<std::pair<int, int>> seqs;  // (cached tokens, new tokens)
};

template <typename T>
T* upload(const std::vector<T>& v) {
  T* d = nullptr;
  PD_CUDA_CHECK(cudaMalloc(&d, v.size() * sizeof(T)));
  PD_CUDA_CHECK(cudaMemcpy(d, v.data(), v.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// Device buffers of one attention problem, block tables shuffled over the pool.
struct Problem {
  AttentionArgs args{};
  int max_query_len = 0;
  double flops = 0;  // 4 * heads * head_dim * (new * cached + new^2 / 2) per sequence
  std::vector<void*> owned;

  Problem(const Shape& s, std::mt19937& rng) {
    std::vector<int32_t> qstart{0}, ctx;
    int max_blocks = 1;
    for (auto [cached, fresh] : s.seqs)
      max_blocks = std::max(max_blocks, (cached + fresh + kBlockSize - 1) / kBlockSize);
    int num_blocks = 0;
    for (auto [cached, fresh] : s.seqs)
      num_blocks += (cached + fresh + kBlockSize - 1) / kBlockSize;
    num_blocks += 1;
    std::vector<int32_t> perm(static_cast<size_t>(num_blocks));
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    std::vector<int32_t> tables;
    int next = 0;
    for (auto [cached, fresh] : s.seqs) {
      qstart.push_back(qstart.back() + fresh);
      ctx.push_back(cached + fresh);
      max_query_len = std::max(max_query_len, fresh);
      const int blocks = (cached + fresh + kBlockSize - 1) / kBlockSize;
      for (int b = 0; b < max_blocks; ++b)
        tables.push_back(b < blocks ? perm[static_cast<size_t>(next++)] : 0);
      flops +=
          4.0 * s.heads * s.head_dim * (static_cast<double>(fresh) * cached + 0.5 * fresh * fresh);
    }
    const int n = qstart.back();
    const int64_t q_elems = int64_t{n} * s.heads * s.head_dim;
    const int64_t kv_elems = int64_t{num_blocks} * 2 * kBlockSize * s.kv_heads * s.head_dim;
    uint16_t *q, *kv, *out;
    PD_CUDA_CHECK(cudaMalloc(&q, q_elems * 2));
    PD_CUDA_CHECK(cudaMalloc(&out, q_elems * 2));
    PD_CUDA_CHECK(cudaMalloc(&kv, kv_elems * 2));
    fill_random<<<1024, 256>>>(q, q_elems, static_cast<uint32_t>(rng()));
    fill_random<<<1024, 256>>>(kv, kv_elems, static_cast<uint32_t>(rng()));
    PD_CUDA_CHECK(cudaGetLastError());
    int32_t* d_qstart = upload(qstart);
    int32_t* d_ctx = upload(ctx);
    int32_t* d_tables = upload(tables);
    owned = {q, kv, out, d_qstart, d_ctx, d_tables};
    args = AttentionArgs{q,
                         kv,
                         d_qstart,
                         d_ctx,
                         d_tables,
                         max_blocks,
                         static_cast<int>(s.seqs.size()),
                         n,
                         kBlockSize,
                         s.heads,
                         s.kv_heads,
                         s.head_dim,
                         s.window,
                         1.0f / std::sqrt(static_cast<float>(s.head_dim)),
                         out};
  }
  ~Problem() {
    for (void* p : owned) cudaFree(p);
  }
  int64_t out_elems() const { return int64_t{args.num_tokens} * args.num_heads * args.head_dim; }
  std::vector<float> output() const {
    std::vector<uint16_t> bits(static_cast<size_t>(out_elems()));
    PD_CUDA_CHECK(cudaMemcpy(bits.data(), args.out, bits.size() * 2, cudaMemcpyDeviceToHost));
    std::vector<float> f(bits.size());
    for (size_t i = 0; i < bits.size(); ++i) {
      const uint32_t w = static_cast<uint32_t>(bits[i]) << 16;
      std::memcpy(&f[i], &w, 4);
    }
    return f;
  }
};

// ||prefill - reference|| / ||reference||; infinity when an output is NaN (unwritten).
double check(const Shape& s, PrefillKernel kernel, std::mt19937& rng) {
  Problem p(s, rng);
  fill_nan<<<1024, 256>>>(p.args.out, p.out_elems());
  launch_paged_attention(p.args, nullptr);
  const std::vector<float> ref = p.output();
  fill_nan<<<1024, 256>>>(p.args.out, p.out_elems());
  launch_prefill_attention(p.args, p.max_query_len, nullptr, kernel);
  PD_CUDA_CHECK(cudaDeviceSynchronize());
  const std::vector<float> got = p.output();
  double num = 0, den = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isnan(got[i])) return INFINITY;
    num += (double{got[i]} - ref[i]) * (double{got[i]} - ref[i]);
    den += double{ref[i]} * ref[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}

// Median milliseconds of `reps` runs after 3 warm-ups.
template <typename Fn>
double median_ms(int reps, Fn fn) {
  for (int i = 0; i < 3; ++i) fn();
  std::vector<cudaEvent_t> ev(static_cast<size_t>(reps) + 1);
  for (cudaEvent_t& e : ev) PD_CUDA_CHECK(cudaEventCreate(&e));
  PD_CUDA_CHECK(cudaEventRecord(ev[0]));
  for (int i = 0; i < reps; ++i) {
    fn();
    PD_CUDA_CHECK(cudaEventRecord(ev[static_cast<size_t>(i) + 1]));
  }
  PD_CUDA_CHECK(cudaEventSynchronize(ev.back()));
  std::vector<float> ms(static_cast<size_t>(reps));
  for (int i = 0; i < reps; ++i)
    PD_CUDA_CHECK(cudaEventElapsedTime(&ms[static_cast<size_t>(i)], ev[static_cast<size_t>(i)],
                                       ev[static_cast<size_t>(i) + 1]));
  for (cudaEvent_t e : ev) cudaEventDestroy(e);
  std::nth_element(ms.begin(), ms.begin() + reps / 2, ms.end());
  return ms[static_cast<size_t>(reps / 2)];
}

std::string seqs_string(const Shape& s) {
  std::string r;
  for (auto [cached, fresh] : s.seqs)
    r += (r.empty() ? "" : " ") + std::to_string(cached) + "+" + std::to_string(fresh);
  return r;
}

// The kernels that run at the shape's head_dim on this GPU.
std::vector<PrefillKernel> kernels_of(const Shape& s, int compute_capability) {
  std::vector<PrefillKernel> r;
  for (PrefillKernel k : {PrefillKernel::kMma16, PrefillKernel::kMma32, PrefillKernel::kWgmma})
    if (prefill_attention_runs(k, s.head_dim, compute_capability)) r.push_back(k);
  return r;
}

int run(const char* json_path) {
  std::mt19937 rng{std::random_device{}()};
  cudaDeviceProp prop{};
  PD_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  const int cc = prop.major * 10 + prop.minor;
  std::printf("device: %s (compute capability %d.%d)\n", prop.name, prop.major, prop.minor);

  const std::vector<Shape> checks = {
      {32, 8, 128, 0, {{0, 4096}}},
      {32, 8, 128, 0, {{2048, 2048}}},
      {8, 8, 64, 0, {{0, 1}, {0, 17}, {100, 200}, {0, 129}, {1000, 1}, {5, 3}}},
      {16, 2, 256, 0, {{0, 300}, {513, 77}, {0, 2}}},
      {8, 2, 128, 256, {{0, 1000}, {700, 300}, {31, 1}}},
      {4, 1, 64, 100, {{0, 8192}}},
      {4, 4, 256, 64, {{37, 5}, {0, 400}, {4000, 96}}},
      {8, 1, 128, 0, {{0, 8192}, {3, 1}}},
      {4, 4, 128, 0, {{6000, 1}, {1, 1}, {15, 113}}},
  };
  int failures = 0, rows_done = 0;
  std::string json = "{\"device\": \"" + std::string(prop.name) + "\", \"checks\": [";
  std::printf("%-34s %-5s %-6s %-27s %s\n", "check (cached+new per sequence)", "d", "window",
              "kernel", "rel err vs paged_attention");
  for (const Shape& s : checks) {
    for (PrefillKernel kernel : kernels_of(s, cc)) {
      const double err = check(s, kernel, rng);
      const bool ok = err < 1e-2;
      failures += ok ? 0 : 1;
      const std::string desc =
          std::to_string(s.heads) + "/" + std::to_string(s.kv_heads) + "h " + seqs_string(s);
      std::printf("%-34.34s %-5d %-6d %-27s %.2e %s\n", desc.c_str(), s.head_dim, s.window,
                  prefill_kernel_name(kernel), err, ok ? "ok" : "FAIL");
      json += std::string(rows_done++ ? ", " : "") + "{\"shape\": \"" + desc +
              "\", \"head_dim\": " + std::to_string(s.head_dim) +
              ", \"window\": " + std::to_string(s.window) + ", \"kernel\": \"" +
              prefill_kernel_name(kernel) + "\"" + ", \"rel_err\": " + std::to_string(err) + "}";
    }
  }
  json += "], \"timings\": [";

  const std::vector<std::pair<std::string, Shape>> timed = {
      {"causal 4096", {32, 8, 128, 0, {{0, 4096}}}},
      {"2048 new over 2048 cached", {32, 8, 128, 0, {{2048, 2048}}}},
      {"causal 8192", {32, 8, 128, 0, {{0, 8192}}}},
      {"causal 4096, d=64", {32, 8, 64, 0, {{0, 4096}}}},
      {"causal 4096, d=256", {32, 8, 256, 0, {{0, 4096}}}},
  };
  std::printf("\n%-28s %-27s %10s %10s %12s %12s\n", "shape (32q/8kv heads)", "kernel", "ms",
              "TFLOP/s", "old ms", "speed-up");
  rows_done = 0;
  for (const auto& [name, s] : timed) {
    Problem p(s, rng);
    const double old_ms = median_ms(3, [&] { launch_paged_attention(p.args, nullptr); });
    for (PrefillKernel kernel : kernels_of(s, cc)) {
      const double ms = median_ms(
          20, [&] { launch_prefill_attention(p.args, p.max_query_len, nullptr, kernel); });
      const double tflops = p.flops / (ms * 1e-3) / 1e12;
      std::printf("%-28s %-27s %10.3f %10.1f %12.3f %11.1fx\n", name.c_str(),
                  prefill_kernel_name(kernel), ms, tflops, old_ms, old_ms / ms);
      json += std::string(rows_done++ ? ", " : "") + "{\"name\": \"" + name +
              "\", \"heads\": " + std::to_string(s.heads) +
              ", \"kv_heads\": " + std::to_string(s.kv_heads) +
              ", \"head_dim\": " + std::to_string(s.head_dim) + ", \"kernel\": \"" +
              prefill_kernel_name(kernel) + "\", \"plan\": " +
              (kernel == plan_prefill_attention(s.head_dim, cc) ? "true" : "false") +
              ", \"ms\": " + std::to_string(ms) + ", \"tflops\": " + std::to_string(tflops) +
              ", \"first_version_ms\": " + std::to_string(old_ms) + "}";
    }
  }
  json += "]}\n";
  if (json_path) {
    FILE* f = std::fopen(json_path, "w");
    if (!f) {
      std::fprintf(stderr, "attention_bench: cannot write %s\n", json_path);
      return 1;
    }
    std::fputs(json.c_str(), f);
    std::fclose(f);
  }
  if (failures) std::printf("%d check(s) FAILED\n", failures);
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace pdserve::backend::cuda

int main(int argc, char** argv) {
  if (argc > 2) {
    std::fprintf(stderr, "usage: attention_bench [JSON_OUT]\n");
    return 2;
  }
  return pdserve::backend::cuda::run(argc == 2 ? argv[1] : nullptr);
}
