// A finished run as text: the summary table (vLLM's layout) and the full
// result as JSON for plotting (config, metrics, every request's record).
#pragma once

#include <string>
#include <vector>

#include "bench/bench_config.h"
#include "bench/bench_request.h"
#include "bench/metrics.h"
#include "common/base/status.h"

namespace pdserve::bench {

// Lists at most max_failures_listed failed requests (id, status, message)
// and says how many more the JSON holds.
std::string summary_table(const BenchConfig& config, double rate, const BenchMetrics& metrics,
                          const std::vector<RequestRecord>& records,
                          size_t max_failures_listed = 20);

// Times in the JSON are milliseconds (keys end in _ms), as vLLM's result files.
std::string result_json(const BenchConfig& config, double rate, const BenchMetrics& metrics,
                        const std::vector<RequestRecord>& records);

Status write_text_file(const std::string& path, const std::string& text);

}  // namespace pdserve::bench
