// A StepGraph on the CUDA backend: an instantiated CUDA graph replayed on
// the backend's stream. It keeps the GraphPool its buffers came from alive.
#pragma once

#include <memory>

#include "common/base/status.h"
#include "engine/backend/backend.h"
#include "engine/backend/cuda/graph_pool.h"

namespace pdserve::backend::cuda {

class CudaStepGraph final : public StepGraph {
 public:
  // Ends the capture of `stream` and instantiates what it recorded; fails
  // (with the CUDA error) when the recording was invalidated or the graph
  // cannot be instantiated. The stream is no longer capturing either way.
  static Result<std::unique_ptr<CudaStepGraph>> end_capture(void* stream,
                                                            std::shared_ptr<GraphPool> pool);
  ~CudaStepGraph() override;

  void replay() override;
  int num_kernels() const override { return num_kernels_; }

 private:
  CudaStepGraph(void* stream, void* graph, void* exec, std::shared_ptr<GraphPool> pool);

  void* stream_;
  void* graph_;  // cudaGraph_t
  void* exec_;   // cudaGraphExec_t
  std::shared_ptr<GraphPool> pool_;
  int num_kernels_ = 0;
};

}  // namespace pdserve::backend::cuda
