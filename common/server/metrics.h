// Prometheus metrics without Prometheus types: a registry of counter, gauge
// and histogram families (prometheus-cpp core behind a pimpl), rendered in
// the text exposition format and served on our own server.
//
//   auto registry = std::make_shared<MetricsRegistry>();
//   Counter ok = registry->counter("pdserve_requests_total", "Requests answered",
//                                  {{"code", "200"}});
//   Histogram ttft = registry->histogram("pdserve_ttft_seconds", "Time to first token",
//                                        MetricsRegistry::exponential_buckets(0.005, 2, 14));
//   ok.inc();  ttft.observe(0.042);                     // hot path: one atomic op
//   mount_metrics(routes, registry);                    // GET /metrics
//
// Handles are cheap to copy and to update (lock-free for counters and
// gauges); look them up once, not per request. A default-constructed handle
// does nothing. The same name and labels return the same series. A bad name
// or label, or a name reused with another type, is a programming error: it
// is logged and a do-nothing handle is returned (a metric is never worth a crash).
// Thread-safety: everything here may be used from any thread. Handles must
// not outlive their registry.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/server/routes.h"

namespace pdserve::server {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  Counter() = default;
  void inc(double amount = 1.0);  // amount >= 0
  double value() const;

 private:
  friend class MetricsRegistry;
  explicit Counter(void* series) : series_(series) {}
  void* series_ = nullptr;  // prometheus::Counter
};

class Gauge {
 public:
  Gauge() = default;
  void set(double value);
  void inc(double amount = 1.0);
  void dec(double amount = 1.0);
  double value() const;

 private:
  friend class MetricsRegistry;
  explicit Gauge(void* series) : series_(series) {}
  void* series_ = nullptr;  // prometheus::Gauge
};

class Histogram {
 public:
  Histogram() = default;
  void observe(double value);

 private:
  friend class MetricsRegistry;
  explicit Histogram(void* series) : series_(series) {}
  void* series_ = nullptr;  // prometheus::Histogram
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Gauge gauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  // Upper bounds in increasing order; +Inf is implied.
  Histogram histogram(std::string_view name, std::string_view help, std::vector<double> buckets,
                      const MetricLabels& labels = {});

  // Every family, in the Prometheus text format (version 0.0.4).
  std::string render() const;

  // start, start*factor, ... (count bounds).
  static std::vector<double> exponential_buckets(double start, double factor, int count);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Serves registry->render() on GET `path` with the Prometheus content type.
void mount_metrics(Routes& routes, std::shared_ptr<const MetricsRegistry> registry,
                   std::string path = "/metrics");

}  // namespace pdserve::server
