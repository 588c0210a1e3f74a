#include "launcher/serve.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "common/base/logging.h"
#include "launcher/port_picker.h"

namespace pdserve::launcher {
namespace {

Result<ServePorts> choose_ports(const ServeRun& run, uint16_t* router_port) {
  const ServeOptions& o = run.serve;
  if (o.num_prefill < 0 || o.num_decode < 0) return invalid_argument("negative worker count");
  const size_t num_workers = static_cast<size_t>(o.num_prefill) + static_cast<size_t>(o.num_decode);
  std::vector<uint16_t> ports;
  if (run.worker_base_port != 0) {
    PD_ASSIGN_OR_RETURN(ports,
                        ports_from_base(run.worker_base_port, num_workers, kServeWorkerHost));
  } else {
    // One more than needed: a free router port when none was given.
    PD_ASSIGN_OR_RETURN(ports, pick_free_ports(num_workers + 1, kServeWorkerHost));
    if (*router_port == 0) *router_port = ports.back();
    ports.pop_back();
  }
  if (*router_port == 0) {
    PD_ASSIGN_OR_RETURN(std::vector<uint16_t> one, pick_free_ports(1, kServeWorkerHost));
    *router_port = one[0];
  }
  ServePorts out;
  auto split = ports.begin() + o.num_prefill;
  out.prefill.assign(ports.begin(), split);
  out.decode.assign(split, ports.end());
  return out;
}

void write_line(int fd, const std::string& line) {
  std::string l = line + "\n";
  const char* p = l.data();
  size_t left = l.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace

Status run_serve(const ServeRun& run) {
  ServeOptions options = run.serve;
  PD_ASSIGN_OR_RETURN(ServePorts ports, choose_ports(run, &options.port));
  PD_ASSIGN_OR_RETURN(ServePlan plan, plan_serve(options, ports));
  Supervisor supervisor(run.supervisor);
  PD_RETURN_IF_ERROR(supervisor.start(plan.children));
  write_line(run.ready_fd, "pdserve is ready at " + plan.url + " (" +
                               std::to_string(options.num_prefill) + " prefill, " +
                               std::to_string(options.num_decode) + " decode); Ctrl-C stops it");
  return supervisor.wait();
}

Result<std::string> current_executable() {
  std::string path(4096, '\0');
  ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  if (n <= 0 || static_cast<size_t>(n) >= path.size()) {
    return internal_error("cannot read /proc/self/exe");
  }
  path.resize(static_cast<size_t>(n));
  return path;
}

}  // namespace pdserve::launcher
