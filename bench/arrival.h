// Request arrival times: a Poisson process (or, with burstiness != 1, gamma
// distributed gaps of the same mean, as vLLM's --burstiness).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pdserve::bench {

// Send offsets in seconds from the start, one per request: the first is 0,
// each next one a gap later with gaps ~ Gamma(shape=burstiness,
// scale=1/(rate*burstiness)), i.e. exponential with mean 1/rate when
// burstiness is 1. A rate of +inf (or <= 0) gives all zeros. Deterministic
// for a seed.
std::vector<double> arrival_offsets(size_t num_requests, double request_rate, uint64_t seed,
                                    double burstiness = 1.0);

}  // namespace pdserve::bench
