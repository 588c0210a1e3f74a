#include "router/worker_health_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace pdserve::router {
namespace {

// The value of the series `name{labels}` in a rendered registry; -1 if absent.
double value(const std::string& text, const std::string& series) {
  const std::string key = "\n" + series + " ";
  const size_t at = text.find(key);
  return at == std::string::npos ? -1.0 : std::stod(text.substr(at + key.size()));
}

WorkerView worker(std::string id, WorkerRole role, bool healthy, int inflight) {
  WorkerView w;
  w.id = std::move(id);
  w.role = role;
  w.healthy = healthy;
  w.num_inflight = inflight;
  return w;
}

TEST(WorkerHealthMetricsTest, FollowsTheSnapshots) {
  server::MetricsRegistry registry;
  WorkerHealthMetrics health(registry);
  WorkerSnapshot s;
  s.workers = {worker("10.0.0.1:9000", WorkerRole::kDecode, true, 3),
               worker("10.0.0.2:9000", WorkerRole::kDecode, false, 0),
               worker("10.0.0.3:9000", WorkerRole::kPrefill, true, 1)};
  health.update(s);
  std::string text = registry.render();
  EXPECT_EQ(value(text, R"(pdserve:router_worker_healthy{role="decode",worker="10.0.0.1:9000"})"),
            1)
      << text;
  EXPECT_EQ(value(text, R"(pdserve:router_worker_healthy{role="decode",worker="10.0.0.2:9000"})"),
            0);
  EXPECT_EQ(
      value(text,
            R"(pdserve:router_worker_requests_inflight{role="decode",worker="10.0.0.1:9000"})"),
      3);
  EXPECT_EQ(value(text, R"(pdserve:router_workers{role="decode",state="healthy"})"), 1);
  EXPECT_EQ(value(text, R"(pdserve:router_workers{role="decode",state="unhealthy"})"), 1);
  EXPECT_EQ(value(text, R"(pdserve:router_workers{role="prefill",state="healthy"})"), 1);

  s.workers.erase(s.workers.begin());  // the first decode worker is dropped
  health.update(s);
  text = registry.render();
  EXPECT_EQ(value(text, R"(pdserve:router_worker_healthy{role="decode",worker="10.0.0.1:9000"})"),
            0)
      << text;
  EXPECT_EQ(
      value(text,
            R"(pdserve:router_worker_requests_inflight{role="decode",worker="10.0.0.1:9000"})"),
      0);
  EXPECT_EQ(value(text, R"(pdserve:router_workers{role="decode",state="healthy"})"), 0);
}

}  // namespace
}  // namespace pdserve::router
