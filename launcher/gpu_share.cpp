#include "launcher/gpu_share.h"

#include <map>

namespace pdserve::launcher {

std::vector<double> split_gpu_memory(const std::vector<int>& worker_gpus, double total) {
  std::map<int, int> workers_on;
  for (int gpu : worker_gpus) ++workers_on[gpu];
  std::vector<double> shares;
  shares.reserve(worker_gpus.size());
  for (int gpu : worker_gpus) shares.push_back(total / workers_on[gpu]);
  return shares;
}

}  // namespace pdserve::launcher
