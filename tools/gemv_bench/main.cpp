// Micro-benchmark of the decode GEMV (engine/backend/cuda/gemv.cu) at the
// Llama-3.2-1B and Llama-3.1-8B projection shapes, 1 to 16 tokens: the
// weight bytes read per second beside the copy bandwidth measured in the same
// run and beside cuBLASLt at the same shape; then each fused input or output
// as the model would call it (RMSNorm into the QKV, gate-up and LM head; the
// residual add into O; SiLU-and-multiply and the residual add into down)
// against the separate kernels. Each figure replays a CUDA graph
// of 24 calls over rotating copies of the weight (more bytes than L2 holds),
// as a decode step's graph runs them.
//
//   gemv_bench [--json PATH]
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/add.h"
#include "engine/backend/cuda/cublaslt_gemm.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/cuda/gemv.h"
#include "engine/backend/cuda/rmsnorm.h"
#include "engine/backend/cuda/silu_mul.h"
#include "engine/backend/device_peaks.h"
#include "tools/backend_time.h"

namespace pdserve::backend {
namespace {

using cuda::GemvArgs;
using cuda::GemvInput;

// How the model would call the projection: what is folded into it.
enum class Fold { kRmsNorm, kResidual, kSiluMulResidual };

struct Shape2 {
  const char* name;
  int64_t in, out;
  Fold fold;
};

const Shape2 kShapes[] = {
    {"1B qkv", 2048, 3072, Fold::kRmsNorm},
    {"1B o", 2048, 2048, Fold::kResidual},
    {"1B gate_up", 2048, 16384, Fold::kRmsNorm},
    {"1B down", 8192, 2048, Fold::kSiluMulResidual},
    {"1B lm_head", 2048, 128256, Fold::kRmsNorm},
    {"8B qkv", 4096, 6144, Fold::kRmsNorm},
    {"8B o", 4096, 4096, Fold::kResidual},
    {"8B gate_up", 4096, 28672, Fold::kRmsNorm},
    {"8B down", 14336, 4096, Fold::kSiluMulResidual},
    {"8B lm_head", 4096, 128256, Fold::kRmsNorm},
};
constexpr int kCalls = 24;                            // calls per recorded graph
constexpr int64_t kRotateBytes = int64_t{256} << 20;  // weights cycled through: > L2

// The weights and activations of one shape at up to 16 tokens.
struct Operands {
  std::vector<Tensor> w;  // copies of [out, in]
  Tensor x, gate_up, norm, act, y, y2;
};

Operands make_operands(Backend& be, const Shape2& s) {
  Operands o;
  const int64_t bytes = s.in * s.out * 2;
  const int64_t copies = std::max<int64_t>(1, (kRotateBytes + bytes - 1) / bytes);
  std::vector<float> host(static_cast<size_t>(s.in * s.out));
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<float>(i % 61) * 1e-3f - 0.03f;
  for (int64_t c = 0; c < copies; ++c) {
    o.w.push_back(be.alloc(Shape{s.out, s.in}, DType::kBF16));
    be.copy_from_host(o.w.back(), host.data(), DType::kF32);
  }
  auto filled = [&be](Shape shape, DType dtype) {
    Tensor t = be.alloc(shape, dtype);
    std::vector<float> v(static_cast<size_t>(shape.numel()), 0.5f);
    be.copy_from_host(t, v.data(), DType::kF32);
    return t;
  };
  o.x = filled(Shape{cuda::kGemvMaxTokens, s.in}, DType::kBF16);
  o.gate_up = filled(Shape{cuda::kGemvMaxTokens, 2 * s.in}, DType::kBF16);
  o.act = filled(Shape{cuda::kGemvMaxTokens, s.in}, DType::kBF16);
  o.norm = filled(Shape{s.in}, DType::kF32);
  o.y = filled(Shape{cuda::kGemvMaxTokens, s.out}, DType::kBF16);
  o.y2 = filled(Shape{cuda::kGemvMaxTokens, s.out}, DType::kBF16);
  return o;
}

// Microseconds per call of fn(i) (i: the call's index), from a graph of kCalls calls.
double time_us(Backend& be, const std::function<void(int)>& fn) {
  PD_CHECK(be.begin_capture().ok()) << "gemv_bench: cannot record a graph";
  for (int i = 0; i < kCalls; ++i) fn(i);
  auto graph = be.end_capture();
  PD_CHECK(graph.ok()) << graph.status().to_string();
  return time_ms(be, 20, [&] { (*graph)->replay(); }) * 1e3 / kCalls;
}

int run(int argc, char** argv) {
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else {
      std::fprintf(stderr, "usage: gemv_bench [--json PATH]\n");
      return 2;
    }
  }
  auto made = cuda::CudaBackend::create(0);
  if (!made.ok()) {
    std::fprintf(stderr, "gemv_bench: %s\n", made.status().message().c_str());
    return 1;
  }
  cuda::CudaBackend& be = **made;
  auto peaks = measure_device_peaks(be);
  PD_CHECK(peaks.ok()) << peaks.status().to_string();
  const double copy = peaks->copy_bytes_per_s;
  std::printf("device: %s   copy bandwidth %.0f GB/s\n", peaks->device_name.c_str(), copy / 1e9);
  constexpr size_t kWorkspace = size_t{32} << 20;
  Tensor ws = be.alloc(Shape{static_cast<int64_t>(kWorkspace / 4)}, DType::kI32);
  cuda::CublasLtGemm cublas(be.stream(), std::shared_ptr<void>(ws.data(), [](void*) {}),
                            kWorkspace);
  nlohmann::json j = {{"gpu", peaks->device_name},
                      {"copy_gb_per_s", copy / 1e9},
                      {"calls_per_graph", kCalls},
                      {"figures", nlohmann::json::array()}};
  auto u16 = [](const Tensor& t) { return t.as<uint16_t>(); };

  std::printf("%-11s %6s %2s %9s %9s %6s %9s %6s %7s\n", "shape", "MB", "m", "gemv us", "GB/s",
              "copy%", "cublas us", "copy%", "speedup");
  for (const Shape2& s : kShapes) {
    Operands o = make_operands(be, s);
    const double bytes = static_cast<double>(s.in * s.out * 2);
    auto args = [&](int i, int64_t m, const Tensor& x) {
      return GemvArgs{u16(x),  o.norm.as<float>(), 1e-5f, u16(o.w[i % o.w.size()]),
                      nullptr, u16(o.y),           m,     s.in,
                      s.out};
    };
    auto pct = [&](double us) { return 100.0 * bytes / (us * 1e-6) / copy; };
    for (int64_t m : {1, 2, 4, 8, 16}) {
      const double gemv = time_us(be, [&](int i) {
        cuda::launch_gemv(args(i, m, o.x), GemvInput::kPlain, false, be.stream());
      });
      const double lt = time_us(be, [&](int i) {
        cublas.run(u16(o.x), u16(o.w[i % o.w.size()]), u16(o.y), m, s.in, s.out);
      });
      std::printf("%-11s %6.1f %2lld %9.2f %9.0f %5.1f%% %9.2f %5.1f%% %6.2fx\n", s.name,
                  bytes / 1e6, static_cast<long long>(m), gemv, bytes / gemv / 1e3, pct(gemv), lt,
                  pct(lt), lt / gemv);
      j["figures"].push_back({{"shape", s.name},
                              {"in", s.in},
                              {"out", s.out},
                              {"tokens", m},
                              {"gemv_us", gemv},
                              {"gemv_of_copy", pct(gemv) / 100},
                              {"cublaslt_us", lt},
                              {"cublaslt_of_copy", pct(lt) / 100}});
    }
    // The call the model would make (the fold) against the separate kernels.
    for (int64_t m : {1, 16}) {
      std::function<void(int)> folded, separate;
      const char* what = "";
      if (s.fold == Fold::kRmsNorm) {
        what = "RMSNorm folded";
        folded = [&](int i) {
          cuda::launch_gemv(args(i, m, o.x), GemvInput::kRmsNorm, false, be.stream());
        };
        separate = [&](int i) {
          cuda::launch_rmsnorm(u16(o.x), nullptr, o.norm.as<float>(), 1e-5f, m, s.in, u16(o.act),
                               be.stream());
          cuda::launch_gemv(args(i, m, o.act), GemvInput::kPlain, false, be.stream());
        };
      } else if (s.fold == Fold::kResidual) {
        what = "residual add folded";
        folded = [&](int i) {
          cuda::launch_gemv(args(i, m, o.x), GemvInput::kPlain, true, be.stream());
        };
        separate = [&](int i) {
          cuda::launch_gemv(args(i, m, o.x), GemvInput::kPlain, false, be.stream());
          cuda::launch_add(u16(o.y2), u16(o.y), m * s.out, be.stream());
        };
      } else {
        what = "SiLU-mul and residual add folded";
        folded = [&](int i) {
          cuda::launch_gemv(args(i, m, o.gate_up), GemvInput::kSiluMul, true, be.stream());
        };
        separate = [&](int i) {
          cuda::launch_silu_mul(u16(o.gate_up), m, s.in, u16(o.act), be.stream());
          cuda::launch_gemv(args(i, m, o.act), GemvInput::kPlain, false, be.stream());
          cuda::launch_add(u16(o.y2), u16(o.y), m * s.out, be.stream());
        };
      }
      const double f = time_us(be, folded), sep = time_us(be, separate);
      std::printf("%-11s %2lld tokens, %s: %7.2f us, separate kernels %7.2f us (%.2fx)\n", s.name,
                  static_cast<long long>(m), what, f, sep, sep / f);
      j["folds"].push_back({{"shape", s.name},
                            {"tokens", m},
                            {"fold", what},
                            {"folded_us", f},
                            {"separate_us", sep}});
    }
  }
  std::ofstream out;
  if (!json_path.empty()) out.open(json_path);
  if (!json_path.empty() && !(out << j.dump(2) << "\n")) {
    std::fprintf(stderr, "gemv_bench: cannot write %s\n", json_path.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pdserve::backend

int main(int argc, char** argv) {
  return pdserve::backend::run(argc, argv);
}
