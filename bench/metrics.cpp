#include "bench/metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pdserve::bench {

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

Distribution summarize(const std::vector<double>& values) {
  Distribution d;
  if (values.empty()) return d;
  d.count = values.size();
  const double n = static_cast<double>(values.size());
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double sq = 0;
  for (double v : values) sq += (v - d.mean) * (v - d.mean);
  d.std = std::sqrt(sq / n);
  d.median = percentile(values, 50);
  d.p90 = percentile(values, 90);
  d.p99 = percentile(values, 99);
  const auto [mn, mx] = std::minmax_element(values.begin(), values.end());
  d.min = *mn;
  d.max = *mx;
  return d;
}

double tpot_of(const RequestRecord& r) {
  if (r.output_len <= 1) return 0;
  return (r.e2e_s - r.ttft_s) / static_cast<double>(r.output_len - 1);
}

namespace {

bool meets(const RequestRecord& r, const Slo& slo) {
  if (slo.ttft_s && r.ttft_s > *slo.ttft_s) return false;
  if (slo.tpot_s && tpot_of(r) > *slo.tpot_s) return false;
  if (slo.e2e_s && r.e2e_s > *slo.e2e_s) return false;
  return true;
}

}  // namespace

BenchMetrics compute_metrics(const std::vector<RequestRecord>& records, double duration_s,
                             const Slo& slo) {
  BenchMetrics m;
  m.num_requests = static_cast<int>(records.size());
  m.duration_s = duration_s;
  std::vector<double> ttfts, tpots, itls, e2es;
  int good = 0;
  for (const RequestRecord& r : records) {
    if (!r.success) {
      ++m.failed;
      continue;
    }
    ++m.completed;
    m.total_input_tokens += r.input_len;
    m.total_output_tokens += r.output_len;
    ttfts.push_back(r.ttft_s);
    e2es.push_back(r.e2e_s);
    if (r.output_len > 1) tpots.push_back(tpot_of(r));
    itls.insert(itls.end(), r.itl_s.begin(), r.itl_s.end());
    if (meets(r, slo)) ++good;
  }
  if (duration_s > 0) {
    m.request_throughput = m.completed / duration_s;
    m.output_throughput = static_cast<double>(m.total_output_tokens) / duration_s;
    m.total_token_throughput =
        static_cast<double>(m.total_input_tokens + m.total_output_tokens) / duration_s;
  }
  if (!slo.empty()) {
    m.good_requests = good;
    m.goodput = duration_s > 0 ? good / duration_s : 0.0;
  }
  m.ttft_s = summarize(ttfts);
  m.tpot_s = summarize(tpots);
  m.itl_s = summarize(itls);
  m.e2e_s = summarize(e2es);
  return m;
}

}  // namespace pdserve::bench
