// A worker's registration with its routers: POST /internal/v1/register
// (role, the address the router should use, model) at once and then every
// interval, as a heartbeat; a router drops a registered worker whose
// heartbeats stop. Failures are logged once per router until it answers again.
// Runs on its own thread; the destructor stops it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/server/http_client.h"
#include "common/wire/internal_api.h"

namespace pdserve::worker {

class Registrar {
 public:
  // routers: "host:port" each.
  Registrar(std::vector<server::internal::WorkerAddress> routers,
            server::internal::Registration registration, std::string cluster_token,
            std::chrono::milliseconds interval);
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

 private:
  void run();
  void register_once();

  const std::vector<server::internal::WorkerAddress> routers_;
  const std::string body_;
  const std::string token_;
  const std::chrono::milliseconds interval_;
  std::vector<bool> failing_;
  server::HttpClient client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last
};

}  // namespace pdserve::worker
