#include "common/server/metrics.h"

#include <gtest/gtest.h>

#include "common/server/http_client.h"
#include "common/server/http_server.h"

namespace pdserve::server {
namespace {

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, RendersCountersGaugesAndHistograms) {
  MetricsRegistry registry;
  Counter ok = registry.counter("pdserve_requests_total", "Requests answered", {{"code", "200"}});
  Counter bad = registry.counter("pdserve_requests_total", "Requests answered", {{"code", "500"}});
  Gauge running = registry.gauge("pdserve_running_requests", "Requests running");
  Histogram ttft =
      registry.histogram("pdserve_ttft_seconds", "Time to first token", {0.01, 0.1, 1.0});
  ok.inc();
  ok.inc(2);
  bad.inc();
  running.set(5);
  running.dec();
  ttft.observe(0.05);
  ttft.observe(2.0);

  EXPECT_EQ(ok.value(), 3.0);
  EXPECT_EQ(running.value(), 4.0);
  // The same name and labels give the same series.
  EXPECT_EQ(registry.counter("pdserve_requests_total", "", {{"code", "200"}}).value(), 3.0);

  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP pdserve_requests_total Requests answered")) << text;
  EXPECT_TRUE(contains(text, "# TYPE pdserve_requests_total counter")) << text;
  EXPECT_TRUE(contains(text, "pdserve_requests_total{code=\"200\"} 3")) << text;
  EXPECT_TRUE(contains(text, "pdserve_requests_total{code=\"500\"} 1")) << text;
  EXPECT_TRUE(contains(text, "# TYPE pdserve_running_requests gauge")) << text;
  EXPECT_TRUE(contains(text, "pdserve_running_requests 4")) << text;
  EXPECT_TRUE(contains(text, "# TYPE pdserve_ttft_seconds histogram")) << text;
  EXPECT_TRUE(contains(text, "pdserve_ttft_seconds_bucket{le=\"0.1\"} 1")) << text;
  EXPECT_TRUE(contains(text, "pdserve_ttft_seconds_bucket{le=\"+Inf\"} 2")) << text;
  EXPECT_TRUE(contains(text, "pdserve_ttft_seconds_count 2")) << text;
  EXPECT_TRUE(contains(text, "pdserve_ttft_seconds_sum 2.05")) << text;
}

TEST(Metrics, MisuseGivesDoNothingHandles) {
  MetricsRegistry registry;
  registry.counter("pdserve_x_total", "x").inc();
  Gauge clash = registry.gauge("pdserve_x_total", "same name, other type");
  clash.set(7);
  EXPECT_EQ(clash.value(), 0.0);
  Counter bad_name = registry.counter("bad name with spaces", "x");
  bad_name.inc();
  EXPECT_EQ(bad_name.value(), 0.0);
  Histogram bad_buckets = registry.histogram("pdserve_h", "h", {1.0, 0.5});
  bad_buckets.observe(1);  // no crash
  Counter unset;
  unset.inc();
  EXPECT_EQ(unset.value(), 0.0);
  EXPECT_EQ(MetricsRegistry::exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
}

TEST(Metrics, ServedOnMetricsPath) {
  auto registry = std::make_shared<MetricsRegistry>();
  registry->counter("pdserve_scrapes_total", "Scrapes").inc(41);
  Routes routes;
  mount_metrics(routes, registry);
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  auto r = client.get("127.0.0.1", (*server)->port(), "/metrics");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(contains(std::string(r->headers.get("Content-Type").value_or("")), "version=0.0.4"));
  EXPECT_TRUE(contains(r->body, "pdserve_scrapes_total 41")) << r->body;
}

}  // namespace
}  // namespace pdserve::server
