// `pdserve serve` from end to end: pick ports, plan the children, launch
// them, print the URL, wait for Ctrl-C / SIGTERM or a death, stop them all.
//
//   ServeRun run;
//   run.serve.pdserve_binary = *current_executable();  run.serve.model_dir = dir;
//   Status s = run_serve(run);   // blocks; ok after a signal stopped everything
//   if (!s.ok()) { std::fprintf(stderr, "pdserve serve: %s\n", s.message().c_str()); return 1; }
//
// Ports: the router's is serve.port (0: a free one); the workers' are
// worker_base_port, +1, ... when it is set, else free loopback ports.
// Once every child is healthy one line goes to ready_fd:
//   "pdserve is ready at http://127.0.0.1:8000 (1 prefill, 1 decode); Ctrl-C stops it"
// Errors: those of plan_serve, the port picker and Supervisor::start/wait.
#pragma once

#include <cstdint>
#include <string>

#include "common/base/status.h"
#include "launcher/serve_plan.h"
#include "launcher/supervisor.h"

namespace pdserve::launcher {

struct ServeRun {
  ServeOptions serve;
  uint16_t worker_base_port = 0;  // 0: free ports picked by the OS
  SupervisorOptions supervisor;
  int ready_fd = 1;
};

Status run_serve(const ServeRun& run);

// The absolute path of the running executable (/proc/self/exe): the binary
// whose subcommands serve runs. kInternal when it cannot be read.
Result<std::string> current_executable();

}  // namespace pdserve::launcher
