#include "common/server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <map>
#include <mutex>

#include "common/base/logging.h"

namespace pdserve::server {

namespace {

prometheus::Labels to_prometheus(const MetricLabels& labels) {
  prometheus::Labels out;
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

}  // namespace

struct MetricsRegistry::Impl {
  mutable std::mutex mu;
  prometheus::Registry registry;
  // name → family, one map per type; a name lives in at most one of them.
  std::map<std::string, prometheus::Family<prometheus::Counter>*, std::less<>> counters;
  std::map<std::string, prometheus::Family<prometheus::Gauge>*, std::less<>> gauges;
  std::map<std::string, prometheus::Family<prometheus::Histogram>*, std::less<>> histograms;

  bool name_taken_by_other(std::string_view name, const void* own) const {
    int taken = (counters.count(name) && own != &counters) +
                (gauges.count(name) && own != &gauges) +
                (histograms.count(name) && own != &histograms);
    return taken > 0;
  }

  // Finds or builds the family `name` in `families`, then adds the series.
  template <typename T, typename Builder, typename... Args>
  T* series(std::map<std::string, prometheus::Family<T>*, std::less<>>& families, Builder builder,
            std::string_view name, std::string_view help, const MetricLabels& labels,
            Args&&... args) {
    std::lock_guard<std::mutex> lock(mu);
    try {
      if (name_taken_by_other(name, &families)) {
        PD_LOG(ERROR) << "metric " << name << " already registered with another type";
        return nullptr;
      }
      auto it = families.find(name);
      if (it == families.end()) {
        auto& family = builder.Name(std::string(name)).Help(std::string(help)).Register(registry);
        it = families.emplace(std::string(name), &family).first;
      }
      return &it->second->Add(to_prometheus(labels), std::forward<Args>(args)...);
    } catch (const std::exception& e) {
      PD_LOG(ERROR) << "metric " << name << " not registered: " << e.what();
      return nullptr;
    }
  }
};

void Counter::inc(double amount) {
  if (series_) static_cast<prometheus::Counter*>(series_)->Increment(amount);
}
double Counter::value() const {
  return series_ ? static_cast<prometheus::Counter*>(series_)->Value() : 0.0;
}

void Gauge::set(double value) {
  if (series_) static_cast<prometheus::Gauge*>(series_)->Set(value);
}
void Gauge::inc(double amount) {
  if (series_) static_cast<prometheus::Gauge*>(series_)->Increment(amount);
}
void Gauge::dec(double amount) {
  if (series_) static_cast<prometheus::Gauge*>(series_)->Decrement(amount);
}
double Gauge::value() const {
  return series_ ? static_cast<prometheus::Gauge*>(series_)->Value() : 0.0;
}

void Histogram::observe(double value) {
  if (series_) static_cast<prometheus::Histogram*>(series_)->Observe(value);
}

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter MetricsRegistry::counter(std::string_view name, std::string_view help,
                                 const MetricLabels& labels) {
  return Counter(impl_->series(impl_->counters, prometheus::BuildCounter(), name, help, labels));
}

Gauge MetricsRegistry::gauge(std::string_view name, std::string_view help,
                             const MetricLabels& labels) {
  return Gauge(impl_->series(impl_->gauges, prometheus::BuildGauge(), name, help, labels));
}

Histogram MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                     std::vector<double> buckets, const MetricLabels& labels) {
  for (size_t i = 1; i < buckets.size(); ++i) {
    if (!(buckets[i - 1] < buckets[i])) {
      PD_LOG(ERROR) << "histogram " << name << ": buckets not increasing";
      return Histogram();
    }
  }
  return Histogram(impl_->series(impl_->histograms, prometheus::BuildHistogram(), name, help,
                                 labels, prometheus::Histogram::BucketBoundaries(buckets)));
}

std::string MetricsRegistry::render() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
  } catch (const std::exception& e) {
    PD_LOG(ERROR) << "rendering metrics: " << e.what();
    return "";
  }
}

std::vector<double> MetricsRegistry::exponential_buckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

void mount_metrics(Routes& routes, std::shared_ptr<const MetricsRegistry> registry,
                   std::string path) {
  routes.add("GET", std::move(path),
             [registry](const Request&) {
               Response r = Response::text(200, registry->render());
               r.content_type = "text/plain; version=0.0.4; charset=utf-8";
               return r;
             },
             {.max_body_bytes = kControlBodyBytes});
}

}  // namespace pdserve::server
