// A worker process, as an object, whatever its role: the engine runtime, the
// kvtransfer agent with the KV pools registered, the role's service and the
// HTTP server (the role's routes, /internal/v1/state, /health, /metrics).
//
//   auto w = WorkerProcess::start(options, std::move(runner), engine_config,
//       [](WorkerRuntime& rt, kvtransfer::Agent& a, KvRegions r) { return make_service(...); });
//   w->port();  ...  w->stop();
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/server/http_server.h"
#include "kvtransfer/agent.h"
#include "worker/kv_regions.h"
#include "worker/registrar.h"
#include "worker/worker_runtime.h"

namespace pdserve::worker {

// What a role adds: its routes (the seam between a worker and its role).
class RoleService {
 public:
  virtual ~RoleService() = default;
  virtual void mount(server::Routes& routes) = 0;
};

using ServiceFactory = std::function<std::unique_ptr<RoleService>(
    WorkerRuntime& runtime, kvtransfer::Agent& agent, KvRegions regions)>;

struct WorkerProcessOptions {
  WorkerConfig worker;
  server::ServerOptions server;
  kvtransfer::AgentOptions kv;  // compat_key, cluster_token and on_peer_refused are set here
  // --kv-backend auto: kv.backend is ignored; the first of
  // kvtransfer::auto_backends() that starts and takes the KV pools is used.
  bool kv_backend_auto = false;
  // Routers to register with (heartbeats), and the host they should use to
  // reach this worker (default: the server's bind address).
  std::vector<server::internal::WorkerAddress> register_with;
  std::string advertise_host;
  std::chrono::milliseconds register_interval{2'000};
};

class WorkerProcess {
 public:
  static Result<std::unique_ptr<WorkerProcess>> start(WorkerProcessOptions options,
                                                      std::unique_ptr<runner::LlmRunner> runner,
                                                      const engine::EngineConfig& engine_config,
                                                      const ServiceFactory& make_service);
  ~WorkerProcess();  // stop(0)

  uint16_t port() const { return server_->port(); }
  WorkerRuntime& runtime() { return *runtime_; }
  kvtransfer::Agent& agent() { return *agent_; }
  kvtransfer::BackendKind kv_backend() const { return kv_backend_; }
  // Stops serving (requests in flight get `grace`), then the engine.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  WorkerProcess() = default;
  std::unique_ptr<WorkerRuntime> runtime_;
  std::unique_ptr<kvtransfer::Agent> agent_;
  kvtransfer::BackendKind kv_backend_ = kvtransfer::BackendKind::kTcp;
  std::unique_ptr<RoleService> service_;
  std::unique_ptr<server::Server> server_;
  std::unique_ptr<Registrar> registrar_;
};

}  // namespace pdserve::worker
