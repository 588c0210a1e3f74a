#include "launcher/health_probe.h"

#include "common/server/http_client.h"

namespace pdserve::launcher {

HealthProbe::HealthProbe(std::chrono::milliseconds timeout) {
  server::ClientOptions opts;
  opts.connect_timeout = timeout;
  opts.write_timeout = timeout;
  opts.read_timeout = timeout;
  opts.max_idle_per_host = 1;
  opts.max_response_bytes = 64 << 10;
  client_ = std::make_unique<server::HttpClient>(opts);
}

HealthProbe::~HealthProbe() = default;

Status HealthProbe::check(const std::string& host, uint16_t port, const std::string& path) {
  Result<server::ClientResponse> r = client_->get(host, port, path);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    std::string body = r->body.substr(0, 200);
    return unavailable("HTTP " + std::to_string(r->status) + (body.empty() ? "" : " " + body));
  }
  return ok_status();
}

}  // namespace pdserve::launcher
