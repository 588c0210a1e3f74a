#include "cli/worker_commands.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include "cli/log_format_flag.h"

#include "cli/engine_flags.h"
#include "cli/runner_flags.h"
#include "cli/speculative_flags.h"
#include "common/base/request_fault.h"
#include "common/base/termination.h"
#include "decode_worker/generate_service.h"
#include "prefill_worker/prefill_service.h"
#include "worker/worker_process.h"

namespace pdserve::cli {
namespace {

struct WorkerFlags {
  std::string role;
  RunnerFlags runner;
  EngineFlags engine;
  SpeculativeFlags speculative;  // decode workers only
  std::string host = "127.0.0.1";
  int port = 0;
  std::string cluster_token;  // else $PDSERVE_CLUSTER_TOKEN
  std::string served_model_name;
  std::string kv_backend = "tcp";
  std::string kv_address;  // default: --host
  decode::GenerateServiceOptions generate;
  bool no_prefill_fallback = false;
  int prefill_timeout_ms = 60'000;
  int heartbeat_ms = 1'000;
  int prefill_stall_timeout_ms = 3'000;
  std::vector<std::string> register_with;  // host:port of routers
  std::string advertise_host;
};

// "host:port" or "[v6]:port".
Result<server::internal::WorkerAddress> parse_host_port(const std::string& s) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) {
    return invalid_argument("'" + s + "' is not host:port");
  }
  server::internal::WorkerAddress a;
  a.host = s.substr(0, colon);
  if (a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  const std::string port = s.substr(colon + 1);
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5 ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return invalid_argument("'" + s + "': bad port");
  }
  a.port = static_cast<uint16_t>(std::stoi(port));
  return a;
}

int run(WorkerFlags f) {
  const std::string who = "pdserve " + f.role;
  auto fail = [&who](const Status& s) {
    std::fprintf(stderr, "%s: %s\n", who.c_str(), s.message().c_str());
    return 1;
  };
  if (f.cluster_token.empty()) {
    if (const char* env = std::getenv("PDSERVE_CLUSTER_TOKEN")) f.cluster_token = env;
  }
  if (f.cluster_token.empty()) {
    return fail(
        invalid_argument("give the cluster token: --cluster-token or PDSERVE_CLUSTER_TOKEN"));
  }
  const bool kv_auto = f.kv_backend == "auto";
  Result<kvtransfer::BackendKind> backend =
      kv_auto ? kvtransfer::BackendKind::kTcp : kvtransfer::parse_backend(f.kv_backend);
  if (!backend.ok()) return fail(backend.status().with_context("--kv-backend"));
  auto config = engine_config(f.engine);
  if (!config.ok()) return fail(config.status());
  Result<int64_t> request_fault = request_fault_from_env(kWorkerFaultEnv);
  if (!request_fault.ok()) return fail(request_fault.status());
  std::vector<server::internal::WorkerAddress> routers;
  for (const std::string& r : f.register_with) {
    Result<server::internal::WorkerAddress> a = parse_host_port(r);
    if (!a.ok()) return fail(a.status().with_context("--register-with"));
    routers.push_back(*a);
  }
  block_termination_signals();  // before any thread starts
  // Decode graphs where steps decode (the prefill worker's steps are prompts).
  auto runner = load_runner(f.runner, f.role == "decode" ? config->scheduler.max_num_seqs : 0);
  if (!runner.ok()) return fail(runner.status());
  auto spec_runner = speculative_runner(f.speculative, f.runner, runner->get(), &*config);
  if (!spec_runner.ok()) return fail(spec_runner.status());

  worker::WorkerProcessOptions o;
  o.worker.role = f.role;
  o.worker.cluster_token = f.cluster_token;
  o.worker.request_fault = *request_fault;
  o.worker.engine_runner = std::move(spec_runner).value();
  o.worker.model_name = f.served_model_name.empty()
                            ? std::filesystem::path(f.runner.model_dir).filename().string()
                            : f.served_model_name;
  o.server.address = f.host;
  o.server.port = static_cast<uint16_t>(f.port);
  o.kv.backend = *backend;
  o.kv_backend_auto = kv_auto;
  o.kv.listen_address = f.kv_address.empty() ? f.host : f.kv_address;
  o.register_with = std::move(routers);
  o.advertise_host = f.advertise_host;
  f.generate.policy.fallback_to_local = !f.no_prefill_fallback;
  f.generate.prefill_timeout = std::chrono::milliseconds(f.prefill_timeout_ms);
  f.generate.heartbeat_interval = std::chrono::milliseconds(f.heartbeat_ms);
  f.generate.prefill_stall_timeout = std::chrono::milliseconds(f.prefill_stall_timeout_ms);
  const decode::GenerateServiceOptions generate = f.generate;
  worker::ServiceFactory factory =
      [&](worker::WorkerRuntime& rt, kvtransfer::Agent& agent,
          worker::KvRegions regions) -> std::unique_ptr<worker::RoleService> {
    if (f.role == "decode") {
      return std::make_unique<decode::GenerateService>(generate, rt, agent, std::move(regions));
    }
    return std::make_unique<prefill::PrefillService>(rt, agent, std::move(regions));
  };
  auto w = worker::WorkerProcess::start(o, std::move(runner).value(), *config, factory);
  if (!w.ok()) return fail(w.status());
  std::printf("%s: serving %s on http://%s:%u (kv backend %s)\n", who.c_str(),
              o.worker.model_name.c_str(), f.host.c_str(), (*w)->port(),
              std::string(kvtransfer::backend_name((*w)->kv_backend())).c_str());
  std::fflush(stdout);
  wait_for_termination_signal();
  (*w)->stop(std::chrono::seconds(5));
  return 0;
}

void add_worker_command(CLI::App& app, const std::string& role, const std::string& help) {
  auto flags = std::make_shared<WorkerFlags>();
  flags->role = role;
  CLI::App* cmd = app.add_subcommand(role, help);
  add_log_format_flag(*cmd);
  add_runner_flags(*cmd, flags->runner);
  add_engine_flags(*cmd, flags->engine);
  cmd->add_option("--host", flags->host, "address to bind (internal plane)");
  cmd->add_option("--port", flags->port, "port (0: any free one)")->check(CLI::Range(0, 65535));
  cmd->add_option("--cluster-token", flags->cluster_token,
                  "shared secret of the internal API (default: $PDSERVE_CLUSTER_TOKEN)");
  cmd->add_option("--served-model-name", flags->served_model_name,
                  "model name (default: the folder's)");
  cmd->add_option("--kv-backend", flags->kv_backend,
                  "KV transfer: auto (cuda_ipc for device pools on one machine, else ucx, else "
                  "tcp), cuda_ipc, ucx, tcp, nccl or local")
      ->check(CLI::IsMember({"auto", "cuda_ipc", "ucx", "tcp", "nccl", "local"}));
  cmd->add_option("--kv-address", flags->kv_address,
                  "address of the KV transfer listener (default: --host)");
  cmd->add_option("--register-with", flags->register_with,
                  "routers (host:port) to register with, heartbeats every 2 s")
      ->delimiter(',');
  cmd->add_option("--advertise-host", flags->advertise_host,
                  "host the routers should use to reach this worker (default: --host)");
  if (role == "decode") {
    add_speculative_flags(*cmd, flags->speculative);
    decode::PrefillPolicy& p = flags->generate.policy;
    cmd->add_option("--min-remote-prefill-tokens", p.min_remote_tokens,
                    "prefill locally when fewer prompt tokens than this are not cached")
        ->check(CLI::NonNegativeNumber);
    cmd->add_flag("--no-prefill-fallback", flags->no_prefill_fallback,
                  "fail the request when the remote prefill fails (default: prefill locally)");
    cmd->add_option("--prefill-timeout-ms", flags->prefill_timeout_ms, "remote prefill deadline")
        ->check(CLI::Range(100, 3'600'000));
    cmd->add_option("--prefill-stall-timeout-ms", flags->prefill_stall_timeout_ms,
                    "a prefill worker that leaves a health probe unanswered this long is stalled: "
                    "its prefills fall back at once")
        ->check(CLI::Range(100, 3'600'000));
    cmd->add_option("--heartbeat-ms", flags->heartbeat_ms,
                    "SSE comment to the router this often on every stream (its liveness)")
        ->check(CLI::Range(50, 60'000));
  }
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace

void add_worker_commands(CLI::App& app) {
  add_worker_command(app, "prefill", "run a prefill worker (internal API)");
  add_worker_command(app, "decode", "run a decode worker (internal API)");
}

}  // namespace pdserve::cli
