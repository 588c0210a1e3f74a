#include "bench/arrival.h"

#include <cmath>
#include <random>

namespace pdserve::bench {

std::vector<double> arrival_offsets(size_t num_requests, double request_rate, uint64_t seed,
                                    double burstiness) {
  std::vector<double> offsets(num_requests, 0.0);
  if (!(request_rate > 0) || std::isinf(request_rate) || num_requests == 0) return offsets;
  std::mt19937_64 rng(seed);
  const double shape = burstiness > 0 ? burstiness : 1.0;
  std::gamma_distribution<double> gap(shape, 1.0 / (request_rate * shape));
  for (size_t i = 1; i < num_requests; ++i) offsets[i] = offsets[i - 1] + gap(rng);
  return offsets;
}

}  // namespace pdserve::bench
