#include "engine/backend/cuda/cuda_step_graph.h"

#include <string>
#include <vector>

#include "engine/backend/cuda/cuda_check.h"

namespace pdserve::backend::cuda {
namespace {

int count_kernels(cudaGraph_t graph) {
  size_t n = 0;
  PD_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &n));
  std::vector<cudaGraphNode_t> nodes(n);
  PD_CUDA_CHECK(cudaGraphGetNodes(graph, nodes.data(), &n));
  int kernels = 0;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type;
    PD_CUDA_CHECK(cudaGraphNodeGetType(node, &type));
    kernels += type == cudaGraphNodeTypeKernel;
  }
  return kernels;
}

}  // namespace

Result<std::unique_ptr<CudaStepGraph>> CudaStepGraph::end_capture(void* stream,
                                                                  std::shared_ptr<GraphPool> pool) {
  cudaGraph_t graph = nullptr;
  cudaError_t err = cudaStreamEndCapture(as_stream(stream), &graph);
  if (err != cudaSuccess || graph == nullptr) {
    (void)cudaGetLastError();
    if (graph) cudaGraphDestroy(graph);
    return internal_error(std::string("CUDA graph capture failed: ") + cudaGetErrorString(err));
  }
  cudaGraphExec_t exec = nullptr;
  err = cudaGraphInstantiate(&exec, graph, 0);
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    cudaGraphDestroy(graph);
    return internal_error(std::string("CUDA graph instantiation failed: ") +
                          cudaGetErrorString(err));
  }
  std::unique_ptr<CudaStepGraph> g(new CudaStepGraph(stream, graph, exec, std::move(pool)));
  g->num_kernels_ = count_kernels(graph);
  return g;
}

CudaStepGraph::CudaStepGraph(void* stream, void* graph, void* exec, std::shared_ptr<GraphPool> pool)
    : stream_(stream), graph_(graph), exec_(exec), pool_(std::move(pool)) {}

CudaStepGraph::~CudaStepGraph() {
  // A replay still queued reads the pool's buffers: let it finish first.
  PD_CUDA_LOG(cudaStreamSynchronize(as_stream(stream_)));
  PD_CUDA_LOG(cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_)));
  PD_CUDA_LOG(cudaGraphDestroy(static_cast<cudaGraph_t>(graph_)));
}

void CudaStepGraph::replay() {
  PD_CUDA_CHECK(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), as_stream(stream_)));
}

}  // namespace pdserve::backend::cuda
