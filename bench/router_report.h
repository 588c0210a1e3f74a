// The figures of `pdserve bench router`, per scenario, from what the load
// driver saw and the router process's CPU time over the same span:
//
//   cpu_us_per_token        router CPU (every thread, user + system) / tokens relayed
//   tokens_per_core_second  tokens relayed / router CPU seconds (what one
//                           router core relays when it is the bottleneck)
//   router_cores            router CPU seconds / wall seconds (how busy it was)
//   latency p50 / p99       per chunk, see router_load.h
//
// Pure functions; the text table and the JSON (--output-json) hold the same.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "bench/router_load.h"

namespace pdserve::bench {

struct RouterScenarioReport {
  std::string name;
  int num_streams = 0;
  RouterLoadResult load;
  double router_cpu_s = 0;
  size_t num_upstream_connections = 0;  // the router's connections to the upstream it used
};

struct RouterBenchReport {
  std::string machine;  // e.g. "2 cores, load average 1.2"
  int router_threads = 0;
  double step_interval_ms = 0;
  int num_step_groups = 1;
  int output_len = 0;
  std::vector<RouterScenarioReport> scenarios;
  // Idle kept-alive connections: how many, and the router's RSS growth per one.
  int num_idle_connections = 0;
  std::optional<double> idle_connection_bytes;
};

std::string router_report_table(const RouterBenchReport& report);
std::string router_report_json(const RouterBenchReport& report);

}  // namespace pdserve::bench
