// CPU lists ("0", "0,2-3") and pinning to them, so that `pdserve bench
// router` can keep the router it starts and its own load generator on
// different cores: the router's CPU time is then its own work, not time
// shared with the clients it is measured by.
#pragma once

#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::bench {

// The CPUs of a list of numbers and ranges ("0", "1,3", "0-2,5"), in
// ascending order without repeats; kInvalidArgument on anything else.
Result<std::vector<int>> parse_cpu_list(std::string_view text);

// The CPUs the calling thread may run on.
Result<std::vector<int>> allowed_cpus();

// Pins the calling thread to `cpus`; the threads and processes it starts
// afterwards inherit that.
Status pin_calling_thread(const std::vector<int>& cpus);

}  // namespace pdserve::bench
