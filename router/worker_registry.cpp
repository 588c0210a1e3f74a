#include "router/worker_registry.h"

#include <algorithm>
#include <charconv>
#include <mutex>

namespace pdserve::router {

namespace internal = server::internal;

std::string_view role_name(WorkerRole role) {
  return role == WorkerRole::kDecode ? "decode" : "prefill";
}

Result<WorkerRole> parse_role(std::string_view name) {
  if (name == "decode") return WorkerRole::kDecode;
  if (name == "prefill") return WorkerRole::kPrefill;
  return invalid_argument("worker role must be 'decode' or 'prefill', got '" + std::string(name) +
                          "'");
}

Result<internal::WorkerAddress> parse_worker_address(std::string_view s) {
  const std::string what = "worker address '" + std::string(s) + "'";
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return invalid_argument(what + " must be host:port");
  std::string_view host = s.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return invalid_argument(what + ": bad [ipv6] host");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid_argument(what + ": write IPv6 hosts as [addr]:port");
  }
  const std::string_view port_text = s.substr(colon + 1);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535)
    return invalid_argument(what + ": port must be in [1, 65535]");
  return internal::WorkerAddress{std::string(host), static_cast<uint16_t>(port)};
}

std::string worker_id(const internal::WorkerAddress& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

WorkerRegistry::WorkerRegistry(WorkerRegistryOptions options) : options_(options) {}

bool WorkerRegistry::healthy_at(const Entry& e, Clock::time_point now) const {
  if (e.failed_polls >= options_.max_failed_polls) return false;
  if (e.view.is_static) return e.polled_ok;
  return now - e.last_heartbeat <= options_.heartbeat_timeout;
}

Status WorkerRegistry::add_static(WorkerRole role, std::string_view host_port, std::string model) {
  PD_ASSIGN_OR_RETURN(internal::WorkerAddress address, parse_worker_address(host_port));
  Entry e;
  e.view.id = worker_id(address);
  e.view.role = role;
  e.view.address = std::move(address);
  e.view.model = std::move(model);
  e.view.is_static = true;
  std::unique_lock lock(mu_);
  if (workers_.count(e.view.id)) return already_exists("worker " + e.view.id + " is listed twice");
  std::string id = e.view.id;
  workers_.emplace(std::move(id), std::move(e));
  return ok_status();
}

Result<bool> WorkerRegistry::heartbeat(const internal::Registration& r, Clock::time_point now) {
  PD_ASSIGN_OR_RETURN(WorkerRole role, parse_role(r.role));
  if (r.address.host.empty() || r.address.port == 0)
    return invalid_argument("registration needs a host and a non-zero port");
  const std::string id = worker_id(r.address);
  std::unique_lock lock(mu_);
  auto it = workers_.find(id);
  if (it != workers_.end()) {
    Entry& e = it->second;
    if (e.view.role != role)
      return failed_precondition("worker " + id + " is known as a " +
                                 std::string(role_name(e.view.role)) + " worker, registers as " +
                                 r.role);
    e.last_heartbeat = now;
    if (!r.model.empty()) e.view.model = r.model;
    return false;
  }
  Entry e;
  e.view.id = id;
  e.view.role = role;
  e.view.address = r.address;
  e.view.model = r.model;
  e.last_heartbeat = now;
  workers_.emplace(id, std::move(e));
  return true;
}

void WorkerRegistry::record_poll(std::string_view id, const internal::WorkerState& state) {
  std::unique_lock lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  Entry& e = it->second;
  if (state.role != role_name(e.view.role)) {
    ++e.failed_polls;
    return;
  }
  e.failed_polls = 0;
  e.polled_ok = true;
  e.view.load = state.load;
  e.view.block_size = state.block_size;
  if (!state.model.empty()) e.view.model = state.model;
}

void WorkerRegistry::record_poll_failure(std::string_view id) {
  std::unique_lock lock(mu_);
  auto it = workers_.find(id);
  if (it != workers_.end()) ++it->second.failed_polls;
}

void WorkerRegistry::mark_stalled(std::string_view id) {
  std::unique_lock lock(mu_);
  auto it = workers_.find(id);
  if (it != workers_.end()) {
    it->second.failed_polls = std::max(it->second.failed_polls, options_.max_failed_polls);
  }
}

void WorkerRegistry::add_inflight(std::string_view id, int delta) {
  std::unique_lock lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  int& n = it->second.view.num_inflight;
  n = std::max(0, n + delta);
}

std::vector<std::string> WorkerRegistry::expire(Clock::time_point now) {
  std::vector<std::string> dropped;
  std::unique_lock lock(mu_);
  for (auto it = workers_.begin(); it != workers_.end();) {
    const Entry& e = it->second;
    if (!e.view.is_static && now - e.last_heartbeat > options_.heartbeat_timeout) {
      dropped.push_back(it->first);
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  return dropped;
}

WorkerSnapshot WorkerRegistry::snapshot(Clock::time_point now) const {
  WorkerSnapshot s;
  std::shared_lock lock(mu_);
  s.workers.reserve(workers_.size());
  for (const auto& [id, e] : workers_) {
    s.workers.push_back(e.view);
    s.workers.back().healthy = healthy_at(e, now);
  }
  return s;
}

}  // namespace pdserve::router
