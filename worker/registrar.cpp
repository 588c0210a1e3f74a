#include "worker/registrar.h"

#include "common/base/logging.h"

namespace pdserve::worker {

Registrar::Registrar(std::vector<server::internal::WorkerAddress> routers,
                     server::internal::Registration registration, std::string cluster_token,
                     std::chrono::milliseconds interval)
    : routers_(std::move(routers)),
      body_(server::internal::to_json(registration)),
      token_(std::move(cluster_token)),
      interval_(interval),
      failing_(routers_.size(), false),
      thread_([this] { run(); }) {}

Registrar::~Registrar() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Registrar::register_once() {
  for (size_t i = 0; i < routers_.size(); ++i) {
    server::ClientRequest req = server::ClientRequest::post_json(routers_[i].host, routers_[i].port,
                                                                 "/internal/v1/register", body_);
    req.headers.set("Authorization", "Bearer " + token_);
    Result<server::ClientResponse> r = client_.send(std::move(req));
    const bool ok = r.ok() && r->status == 200;
    if (!ok && !failing_[i]) {
      PD_LOG(WARN) << "registration with router " << routers_[i].host << ":" << routers_[i].port
                   << " failed: "
                   << (r.ok() ? "HTTP " + std::to_string(r->status) : r.status().to_string());
    }
    failing_[i] = !ok;
  }
}

void Registrar::run() {
  for (;;) {
    register_once();
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, interval_, [this] { return stopping_; })) return;
  }
}

}  // namespace pdserve::worker
