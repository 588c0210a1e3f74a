// What another process uses, from /proc (Linux): CPU time of all its threads
// together and resident memory. For `pdserve bench router`, which measures
// the router process from the outside.
#pragma once

#include <cstddef>

#include "common/base/status.h"

namespace pdserve::bench {

// utime + stime of every thread of `pid` so far, in seconds (/proc/PID/stat,
// clock ticks: 10 ms resolution). kNotFound when there is no such process.
Result<double> process_cpu_seconds(int pid);

// VmRSS of `pid` in bytes (/proc/PID/status).
Result<size_t> process_rss_bytes(int pid);

}  // namespace pdserve::bench
