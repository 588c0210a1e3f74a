// Micro-benchmark of one layer's decode attention over the paged KV cache on
// the CUDA backend: the split-K decode kernel (max_query_len 1) against the
// generic paged kernel (the same batch announced with max_query_len 2), each
// beside the floor: the layer's KV bytes over the measured copy bandwidth.
//
//   decode_attention_bench [heads kv_heads head_dim batch context]...
//   (default: the Llama-3.2-1B and Llama-3.1-8B layers at 1x128, 64x1024, 256x512)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/device_peaks.h"
#include "tools/backend_time.h"

namespace pdserve::backend {
namespace {

struct Point {
  int heads, kv_heads, head_dim, batch, context;
};

void run(Backend& be, const Point& p, double bandwidth) {
  const QkvLayout layout{p.heads, p.kv_heads, p.head_dim};
  const int block_size = 16, per_seq = (p.context + block_size - 1) / block_size;
  const int num_blocks = p.batch * per_seq;
  std::vector<int32_t> tables(static_cast<size_t>(num_blocks)), ctx(static_cast<size_t>(p.batch)),
      qstart(static_cast<size_t>(p.batch) + 1);
  std::iota(tables.begin(), tables.end(), 0);
  std::shuffle(tables.begin(), tables.end(), std::mt19937(1));
  std::fill(ctx.begin(), ctx.end(), p.context);
  std::iota(qstart.begin(), qstart.end(), 0);
  auto upload = [&be](const std::vector<int32_t>& v, Shape s) {
    Tensor t = be.alloc(s, DType::kI32);
    be.copy_from_host(t, v.data(), DType::kI32);
    return t;
  };
  KvLayer kv{be.alloc(Shape{num_blocks, 2, block_size, layout.kv_dim()}, DType::kBF16), block_size};
  std::vector<float> ones(static_cast<size_t>(kv.data.numel()), 0.01f);
  be.copy_from_host(kv.data, ones.data(), DType::kF32);
  Tensor q = be.alloc(Shape{p.batch, layout.q_dim()}, DType::kBF16);
  be.fill_zero(q);
  Tensor out = be.alloc(Shape{p.batch, layout.q_dim()}, DType::kBF16);
  AttentionBatch batch{upload(qstart, Shape{p.batch + 1}),
                       upload(ctx, Shape{p.batch}),
                       upload(tables, Shape{p.batch, per_seq}),
                       p.batch,
                       1,
                       p.context,
                       0,
                       1.0f / std::sqrt(static_cast<float>(p.head_dim))};
  const int reps = 50;
  const double split_k = time_ms(be, reps, [&] { be.paged_attention(q, layout, kv, batch, out); });
  AttentionBatch generic_batch = batch;
  generic_batch.max_query_len = 2;  // routes to the generic kernel; every query is still 1 token
  const double generic =
      time_ms(be, reps, [&] { be.paged_attention(q, layout, kv, generic_batch, out); });
  const double bytes = 2.0 * p.batch * p.context * layout.kv_dim() * 2.0;
  const double floor_ms = bandwidth > 0 ? bytes / bandwidth * 1e3 : 0;
  std::printf(
      "%3d/%d heads x %3d  batch %3d at %5d   floor %8.4f ms   split-K %8.4f ms (%5.1f%%)"
      "   generic %8.4f ms (%5.1f%%)\n",
      p.heads, p.kv_heads, p.head_dim, p.batch, p.context, floor_ms, split_k,
      100 * floor_ms / split_k, generic, 100 * floor_ms / generic);
}

}  // namespace
}  // namespace pdserve::backend

int main(int argc, char** argv) {
  using namespace pdserve::backend;
  std::vector<Point> points;
  if (argc > 1 && (argc - 1) % 5 != 0) {
    std::fprintf(stderr,
                 "usage: decode_attention_bench [heads kv_heads head_dim batch context]...\n");
    return 2;
  }
  for (int i = 1; i + 4 < argc; i += 5)
    points.push_back({std::atoi(argv[i]), std::atoi(argv[i + 1]), std::atoi(argv[i + 2]),
                      std::atoi(argv[i + 3]), std::atoi(argv[i + 4])});
  for (const Point& p : points) {
    if (p.heads < 1 || p.kv_heads < 1 || p.heads % p.kv_heads || p.head_dim < 2 || p.batch < 1 ||
        p.context < 1) {
      std::fprintf(stderr, "decode_attention_bench: bad point %d %d %d %d %d\n", p.heads,
                   p.kv_heads, p.head_dim, p.batch, p.context);
      return 2;
    }
  }
  if (points.empty())
    for (int hd : {64, 128})
      for (auto [b, c] : {std::pair{1, 128}, {64, 1024}, {256, 512}})
        points.push_back({32, 8, hd, b, c});
  auto be = make_cuda_backend(0);
  if (!be.ok()) {
    std::fprintf(stderr, "decode_attention_bench: %s\n", be.status().message().c_str());
    return 1;
  }
  auto peaks = measure_device_peaks(**be);
  const double bw = peaks.ok() ? peaks->copy_bytes_per_s : 0;
  std::printf("device: %s   copy bandwidth %.0f GB/s\n",
              peaks.ok() ? peaks->device_name.c_str() : "?", bw / 1e9);
  for (const Point& p : points) run(**be, p, bw);
  return 0;
}
