// pdserve serve: how the workers that share a GPU split it. Each worker gets
// `total` divided by the number of workers on its GPU, as its
// --gpu-memory-utilization (weights plus KV cache). Pure; thread-safe.
//
//   split_gpu_memory({0, 0}, 0.9)    -> {0.45, 0.45}   prefill and decode on GPU 0
//   split_gpu_memory({0, 1, 1}, 0.9) -> {0.9, 0.45, 0.45}
#pragma once

#include <vector>

namespace pdserve::launcher {

// worker_gpus: the GPU index of each worker. One share per worker, same order.
std::vector<double> split_gpu_memory(const std::vector<int>& worker_gpus, double total);

}  // namespace pdserve::launcher
