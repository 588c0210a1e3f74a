#include "router/cluster_health.h"

namespace pdserve::router {

ClusterHealth cluster_health(const WorkerSnapshot& snapshot) {
  int num[2] = {0, 0}, num_down[2] = {0, 0};  // [decode, prefill]
  for (const WorkerView& w : snapshot.workers) {
    const int r = w.role == WorkerRole::kDecode ? 0 : 1;
    ++num[r];
    if (!w.healthy) ++num_down[r];
  }
  std::string down;
  for (int r = 0; r < 2; ++r) {
    if (num_down[r] == 0) continue;
    if (!down.empty()) down += ", ";
    down += std::to_string(num_down[r]) + " of " + std::to_string(num[r]) + " " +
            std::string(role_name(r == 0 ? WorkerRole::kDecode : WorkerRole::kPrefill)) +
            " workers down";
  }
  if (num[0] == num_down[0]) {
    return {503, R"({"status":"unhealthy","reason":"no healthy decode worker)" +
                     (down.empty() ? std::string() : " (" + down + ")") + "\"}"};
  }
  if (!down.empty()) return {200, R"({"status":"degraded","reason":")" + down + "\"}"};
  return {200, R"({"status":"ok"})"};
}

}  // namespace pdserve::router
