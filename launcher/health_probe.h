// One GET of a child's health URL, with a deadline.
//
//   HealthProbe probe(std::chrono::seconds(2));
//   Status s = probe.check("127.0.0.1", 8001, "/health");
//
// ok when the answer is 200; kUnavailable with the reason ("HTTP 503",
// "connection refused", ...) otherwise, kDeadlineExceeded when no answer
// came within the timeout. Thread-safe (HttpClient is).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace pdserve::server {
class HttpClient;
}

namespace pdserve::launcher {

class HealthProbe {
 public:
  explicit HealthProbe(std::chrono::milliseconds timeout);
  ~HealthProbe();
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  Status check(const std::string& host, uint16_t port, const std::string& path);

 private:
  std::unique_ptr<server::HttpClient> client_;
};

}  // namespace pdserve::launcher
