// y[n, out] = x[n, in] @ w[out, in]^T in bf16 with fp32 accumulation, through
// cuBLASLt, with the algorithm chosen once per shape and cached. One
// instance per stream; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>

namespace pdserve::backend::cuda {

class CublasLtGemm {
 public:
  CublasLtGemm(void* stream, std::shared_ptr<void> workspace, size_t workspace_bytes);
  ~CublasLtGemm();
  CublasLtGemm(const CublasLtGemm&) = delete;
  CublasLtGemm& operator=(const CublasLtGemm&) = delete;

  void run(const uint16_t* x, const uint16_t* w, uint16_t* y, int64_t n, int64_t in, int64_t out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdserve::backend::cuda
