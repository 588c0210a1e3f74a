#include "engine/backend/cuda/cublaslt_gemm.h"

#include <cublasLt.h>

#include <map>
#include <tuple>

#include "engine/backend/cuda/cuda_check.h"

#define PD_CUBLAS_CHECK(call)                                       \
  do {                                                              \
    cublasStatus_t pd_st_ = (call);                                 \
    PD_CHECK(pd_st_ == CUBLAS_STATUS_SUCCESS)                       \
        << #call << ": cuBLAS status " << static_cast<int>(pd_st_); \
  } while (0)
// Destructors: a failure is logged once per call site (common/base/log_once.h).
#define PD_CUBLAS_LOG(call) PD_LOG_FAILED_ONCE(call, CUBLAS_STATUS_SUCCESS, cublasLtGetStatusString)

namespace pdserve::backend::cuda {

// Column-major view: y^T[out, n] = w[out, in] (stored [in, out] col-major, so
// op(A) = T) times x^T[in, n] (stored [in, n] col-major, op(B) = N).
struct CublasLtGemm::Impl {
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };

  cudaStream_t stream;
  cublasLtHandle_t handle = nullptr;
  std::shared_ptr<void> workspace;
  size_t workspace_bytes;
  std::map<std::tuple<int64_t, int64_t, int64_t>, Plan> plans;

  Plan& plan(int64_t n, int64_t in, int64_t out) {
    auto key = std::make_tuple(n, in, out);
    auto it = plans.find(key);
    if (it != plans.end()) return it->second;
    Plan p;
    PD_CUBLAS_CHECK(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
    PD_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a,
                                                   sizeof(trans_a)));
    PD_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b,
                                                   sizeof(trans_b)));
    PD_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_16BF, in, out, in));
    PD_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_16BF, in, n, in));
    PD_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_16BF, out, n, out));
    cublasLtMatmulPreference_t pref;
    PD_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    PD_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof(workspace_bytes)));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    PD_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle, p.desc, p.a, p.b, p.c, p.c, pref, 1,
                                                   &result, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    PD_CHECK(found > 0) << "cuBLASLt has no algorithm for a bf16 GEMM of n=" << n << " in=" << in
                        << " out=" << out;
    p.algo = result.algo;
    return plans.emplace(key, p).first->second;
  }

  ~Impl() {
    for (auto& [key, p] : plans) {
      PD_CUBLAS_LOG(cublasLtMatrixLayoutDestroy(p.a));
      PD_CUBLAS_LOG(cublasLtMatrixLayoutDestroy(p.b));
      PD_CUBLAS_LOG(cublasLtMatrixLayoutDestroy(p.c));
      PD_CUBLAS_LOG(cublasLtMatmulDescDestroy(p.desc));
    }
    if (handle) PD_CUBLAS_LOG(cublasLtDestroy(handle));
  }
};

CublasLtGemm::CublasLtGemm(void* stream, std::shared_ptr<void> workspace, size_t workspace_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->stream = as_stream(stream);
  impl_->workspace = std::move(workspace);
  impl_->workspace_bytes = workspace_bytes;
  PD_CUBLAS_CHECK(cublasLtCreate(&impl_->handle));
}

CublasLtGemm::~CublasLtGemm() = default;

void CublasLtGemm::run(const uint16_t* x, const uint16_t* w, uint16_t* y, int64_t n, int64_t in,
                       int64_t out) {
  if (n == 0) return;
  Impl::Plan& p = impl_->plan(n, in, out);
  const float alpha = 1.0f, beta = 0.0f;
  PD_CUBLAS_CHECK(cublasLtMatmul(impl_->handle, p.desc, &alpha, w, p.a, x, p.b, &beta, y, p.c, y,
                                 p.c, &p.algo, impl_->workspace.get(), impl_->workspace_bytes,
                                 impl_->stream));
}

}  // namespace pdserve::backend::cuda
