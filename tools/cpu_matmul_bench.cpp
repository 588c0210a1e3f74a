// Multiply-adds per second of the CPU backend's matmul (one thread, bf16
// weights, fp32 activations) for 1 to 8 tokens, the reduction dimension IN
// (default 384, the demo model's hidden size), against ROWS_CACHED weight
// rows (default 256: the weights stay in the L2 cache between calls) and
// ROWS_STREAMED (default 32768: 24 MiB at IN 384, read from memory every
// call, as a decode step reads a model's weights):
//   cpu_matmul_bench [IN [ROWS_CACHED [ROWS_STREAMED]]]
// Prints GMAC/s (CPU time of the process) for each shape.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "engine/backend/backend.h"

namespace {

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pdserve::backend;
  const int in = argc > 1 ? std::atoi(argv[1]) : 384;
  const int cached = argc > 2 ? std::atoi(argv[2]) : 256;
  const int streamed = argc > 3 ? std::atoi(argv[3]) : 32768;
  if (in < 1 || cached < 1 || streamed < 1 || in > (1 << 16) || cached > (1 << 20) ||
      streamed > (1 << 20)) {
    std::fprintf(stderr, "usage: %s [IN [ROWS_CACHED [ROWS_STREAMED]]], each 1 to 2^16/2^20\n",
                 argv[0]);
    return 2;
  }
  std::unique_ptr<Backend> be = make_cpu_backend(1);
  std::printf("%8s %7s %10s\n", "rows", "tokens", "GMAC/s");
  for (int rows : {cached, streamed}) {
    std::vector<float> w(static_cast<size_t>(rows) * in);
    for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 7) * 0.01f;
    Tensor tw = be->alloc(Shape{rows, in}, DType::kBF16);
    be->copy_from_host(tw, w.data(), DType::kF32);
    for (int n = 1; n <= 8; ++n) {
      std::vector<float> x(static_cast<size_t>(n) * in, 0.5f);
      Tensor tx = be->alloc(Shape{n, in}, DType::kF32);
      be->copy_from_host(tx, x.data(), DType::kF32);
      Tensor ty = be->alloc(Shape{n, rows}, DType::kF32);
      const double macs_per_call = static_cast<double>(rows) * in * n;
      const long calls = static_cast<long>(4e8 / macs_per_call) + 3;
      be->matmul(tx, tw, nullptr, ty);  // warm
      const double start = cpu_seconds();
      for (long c = 0; c < calls; ++c) be->matmul(tx, tw, nullptr, ty);
      const double s = cpu_seconds() - start;
      std::printf("%8d %7d %10.2f\n", rows, n,
                  macs_per_call * static_cast<double>(calls) / s * 1e-9);
    }
  }
  return 0;
}
