#include "worker/worker_process.h"

#include "common/base/logging.h"
#include "kvtransfer/backend_choice.h"

namespace pdserve::worker {
namespace {

struct KvPlane {
  kvtransfer::BackendKind backend = kvtransfer::BackendKind::kTcp;
  std::unique_ptr<kvtransfer::Agent> agent;
  KvRegions regions;
};

Result<KvPlane> start_kv_plane(const kvtransfer::AgentOptions& options, runner::LlmRunner& runner) {
  KvPlane plane;
  plane.backend = options.backend;
  PD_ASSIGN_OR_RETURN(plane.agent, kvtransfer::Agent::create(options));
  PD_ASSIGN_OR_RETURN(plane.regions, register_kv_regions(*plane.agent, runner));
  return plane;
}

// --kv-backend auto: the first backend that starts and takes the pools.
Result<KvPlane> start_auto_kv_plane(kvtransfer::AgentOptions options, runner::LlmRunner& runner) {
  const kvtransfer::KvPlacement placement{
      kv_pool_on_device(runner) ? kvtransfer::MemoryKind::kDevice : kvtransfer::MemoryKind::kHost,
      kvtransfer::is_loopback_address(options.listen_address), kvtransfer::cuda_ipc_built()};
  Status last;
  for (kvtransfer::BackendKind backend : kvtransfer::auto_backends(placement)) {
    options.backend = backend;
    Result<KvPlane> plane = start_kv_plane(options, runner);
    if (plane.ok()) return plane;
    PD_LOG(INFO) << "kv backend auto: " << kvtransfer::backend_name(backend)
                 << " not usable: " << plane.status().message();
    last = plane.status();
  }
  return last;
}

}  // namespace

Result<std::unique_ptr<WorkerProcess>> WorkerProcess::start(
    WorkerProcessOptions options, std::unique_ptr<runner::LlmRunner> runner,
    const engine::EngineConfig& engine_config, const ServiceFactory& make_service) {
  std::unique_ptr<WorkerProcess> w(new WorkerProcess());
  options.kv.compat_key = kv_compat_key(*runner);
  if (options.kv.name.empty()) options.kv.name = options.worker.role;
  PD_ASSIGN_OR_RETURN(w->runtime_,
                      WorkerRuntime::create(options.worker, std::move(runner), engine_config));
  // The KV plane proves the same token as /internal/* (kvtransfer/peer_auth.h).
  options.kv.cluster_token = options.worker.cluster_token;
  server::Counter refused = w->runtime_->metrics().counter(
      "pdserve:kv_peers_refused_total",
      "KV transfer connections refused or dropped: failed authentication, writes outside the "
      "grants, notification floods",
      {{"role", options.worker.role}});
  options.kv.on_peer_refused = [refused]() mutable { refused.inc(); };
  PD_ASSIGN_OR_RETURN(KvPlane kv, options.kv_backend_auto
                                      ? start_auto_kv_plane(options.kv, w->runtime_->runner())
                                      : start_kv_plane(options.kv, w->runtime_->runner()));
  w->agent_ = std::move(kv.agent);
  w->kv_backend_ = kv.backend;
  w->service_ = make_service(*w->runtime_, *w->agent_, std::move(kv.regions));
  server::Routes routes;
  w->runtime_->mount(routes);
  w->service_->mount(routes);
  PD_ASSIGN_OR_RETURN(w->server_, server::Server::start(options.server, std::move(routes)));
  if (!options.register_with.empty()) {
    server::internal::Registration r;
    r.role = options.worker.role;
    r.model = options.worker.model_name;
    r.address.host =
        options.advertise_host.empty() ? options.server.address : options.advertise_host;
    r.address.port = w->server_->port();
    w->registrar_ = std::make_unique<Registrar>(
        options.register_with, r, options.worker.cluster_token, options.register_interval);
  }
  return w;
}

WorkerProcess::~WorkerProcess() {
  stop(std::chrono::milliseconds(0));
}

void WorkerProcess::stop(std::chrono::milliseconds grace) {
  registrar_.reset();  // routers stop sending new requests once heartbeats stop
  if (server_) server_->stop(grace);
  if (runtime_) runtime_->loop().stop();
}

}  // namespace pdserve::worker
