#include "bench/router_report.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "bench/metrics.h"

namespace pdserve::bench {
namespace {

using nlohmann::json;

struct Figures {
  double cpu_us_per_token = 0, tokens_per_core_second = 0, router_cores = 0, tokens_per_s = 0;
  double p50_us = 0, p99_us = 0;
};

Figures figures(const RouterScenarioReport& s) {
  Figures f;
  const RouterLoadResult& l = s.load;
  if (l.num_tokens > 0)
    f.cpu_us_per_token = s.router_cpu_s * 1e6 / static_cast<double>(l.num_tokens);
  if (s.router_cpu_s > 0)
    f.tokens_per_core_second = static_cast<double>(l.num_tokens) / s.router_cpu_s;
  if (l.wall_s > 0) {
    f.router_cores = s.router_cpu_s / l.wall_s;
    f.tokens_per_s = static_cast<double>(l.num_tokens) / l.wall_s;
  }
  f.p50_us = percentile(l.latency_us, 50);
  f.p99_us = percentile(l.latency_us, 99);
  return f;
}

}  // namespace

std::string router_report_table(const RouterBenchReport& r) {
  std::string out;
  char line[320];
  std::snprintf(line, sizeof line,
                "router bench: %s; router threads %d, one token per stream every %.1f ms (in "
                "%d group(s) spread over it), %d tokens per request\n",
                r.machine.c_str(), r.router_threads, r.step_interval_ms, r.num_step_groups,
                r.output_len);
  out += line;
  std::snprintf(line, sizeof line, "%-28s %7s %8s %6s %9s %10s %11s %7s %10s %10s\n", "scenario",
                "streams", "requests", "failed", "tokens", "cpu us/tok", "tok/core-s", "cores",
                "lat p50 us", "lat p99 us");
  out += line;
  for (const RouterScenarioReport& s : r.scenarios) {
    const Figures f = figures(s);
    std::snprintf(line, sizeof line, "%-28s %7d %8d %6d %9lld %10.1f %11.0f %7.2f %10.0f %10.0f\n",
                  s.name.c_str(), s.num_streams, s.load.num_requests, s.load.num_failed,
                  static_cast<long long>(s.load.num_tokens), f.cpu_us_per_token,
                  f.tokens_per_core_second, f.router_cores, f.p50_us, f.p99_us);
    out += line;
    for (const std::string& e : s.load.errors) out += "  failed: " + e + "\n";
  }
  if (r.idle_connection_bytes) {
    std::snprintf(line, sizeof line, "idle keep-alive connections: %d, router RSS %.1f KiB each\n",
                  r.num_idle_connections, *r.idle_connection_bytes / 1024.0);
    out += line;
  }
  return out;
}

std::string router_report_json(const RouterBenchReport& r) {
  json scenarios = json::array();
  for (const RouterScenarioReport& s : r.scenarios) {
    const Figures f = figures(s);
    scenarios.push_back({{"name", s.name},
                         {"num_streams", s.num_streams},
                         {"num_requests", s.load.num_requests},
                         {"num_failed", s.load.num_failed},
                         {"errors", s.load.errors},
                         {"num_tokens", s.load.num_tokens},
                         {"num_chunks", s.load.num_chunks},
                         {"wall_s", s.load.wall_s},
                         {"router_cpu_s", s.router_cpu_s},
                         {"num_upstream_connections", s.num_upstream_connections},
                         {"cpu_us_per_token", f.cpu_us_per_token},
                         {"tokens_per_core_second", f.tokens_per_core_second},
                         {"tokens_per_s", f.tokens_per_s},
                         {"router_cores", f.router_cores},
                         {"latency_p50_us", f.p50_us},
                         {"latency_p99_us", f.p99_us},
                         {"num_latency_samples", s.load.latency_us.size()}});
  }
  json j = {{"machine", r.machine},
            {"router_threads", r.router_threads},
            {"step_interval_ms", r.step_interval_ms},
            {"num_step_groups", r.num_step_groups},
            {"output_len", r.output_len},
            {"scenarios", std::move(scenarios)},
            {"num_idle_connections", r.num_idle_connections},
            {"idle_connection_bytes",
             r.idle_connection_bytes ? json(*r.idle_connection_bytes) : json(nullptr)}};
  return j.dump(2) + "\n";
}

}  // namespace pdserve::bench
