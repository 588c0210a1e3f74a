#include "engine/backend/cuda/embedding.h"

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

__global__ void embedding_kernel(const uint16_t* table, const int32_t* ids, int64_t hidden,
                                 int64_t vocab, uint16_t* out) {
  const int64_t row = blockIdx.x;
  const int32_t id = ids[row];
  const bool valid = id >= 0 && id < vocab;
  for (int64_t j = threadIdx.x; j < hidden; j += blockDim.x)
    out[row * hidden + j] = valid ? table[static_cast<int64_t>(id) * hidden + j] : uint16_t{0};
}

}  // namespace

void launch_embedding(const uint16_t* table, const int32_t* ids, int64_t n, int64_t hidden,
                      int64_t vocab, uint16_t* out, void* stream) {
  if (n == 0) return;
  embedding_kernel<<<static_cast<unsigned>(n), 256, 0, as_stream(stream)>>>(table, ids, hidden,
                                                                            vocab, out);
  PD_CUDA_CHECK(cudaGetLastError());
}

}  // namespace pdserve::backend::cuda
