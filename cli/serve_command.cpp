#include "cli/serve_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/log_format_flag.h"
#include "cli/seconds_flag.h"
#include "engine/spec/speculative_config.h"
#include "launcher/serve.h"

namespace pdserve::cli {
namespace {

int run(launcher::ServeRun r) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve serve: %s\n", s.message().c_str());
    return 1;
  };
  Result<std::string> self = launcher::current_executable();
  if (!self.ok()) return fail(self.status());
  r.serve.pdserve_binary = *self;
  if (!r.serve.speculative_config.empty()) {  // checked here: one error, not one per worker
    auto spec = spec::parse_speculative_config(r.serve.speculative_config);
    if (!spec.ok()) return fail(spec.status().with_context("--speculative-config"));
  }
  // A token given in the environment is used (and passed on); else a random one.
  if (const char* env = std::getenv("PDSERVE_CLUSTER_TOKEN")) r.serve.cluster_token = env;
  Status s = launcher::run_serve(r);
  return s.ok() ? 0 : fail(s);
}

}  // namespace

void add_serve_command(CLI::App& app) {
  auto r = std::make_shared<launcher::ServeRun>();
  launcher::ServeOptions& o = r->serve;
  CLI::App* cmd = app.add_subcommand(
      "serve", "serve a model: router, prefill and decode workers on this machine");
  add_log_format_flag(*cmd);
  cmd->add_option("--model", o.model_dir, "Hugging Face checkpoint folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--host", o.host, "the router's address (workers stay on 127.0.0.1)");
  cmd->add_option("--port", o.port, "the router's port (0: any free one)");
  cmd->add_option("--prefill-workers", o.num_prefill, "prefill workers (0: decode workers prefill)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--decode-workers", o.num_decode, "decode workers")->check(CLI::Range(1, 64));
  cmd->add_option("--prefill-gpus", o.prefill_gpus, "GPU of each prefill worker")->delimiter(',');
  cmd->add_option("--decode-gpus", o.decode_gpus, "GPU of each decode worker")->delimiter(',');
  cmd->add_option("--device", o.device, "cpu, cuda or auto")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--kv-backend", o.kv_backend,
                  "KV transfer between workers: auto (cuda_ipc when the KV pools are on the GPU, "
                  "else ucx, else tcp), cuda_ipc, ucx, tcp or nccl")
      ->check(CLI::IsMember({"auto", "cuda_ipc", "ucx", "tcp", "nccl"}));
  cmd->add_option("--gpu-memory-utilization", o.gpu_memory_utilization,
                  "fraction of each GPU the workers on it may take together (weights plus KV "
                  "cache), split evenly between them; 0: size the KV cache with --kv-cache-mb")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--speculative-config", o.speculative_config,
                  "speculative decoding in the decode workers (JSON, as `pdserve decode`)");
  auto content_format = std::make_shared<std::string>();  // "": the router's default
  cmd->add_option("--chat-template-content-format", *content_format,
                  "the router's --chat-template-content-format: auto, string or openai")
      ->check(CLI::IsMember({"auto", "string", "openai"}));
  cmd->add_option("--worker-base-port", r->worker_base_port, "first worker port (0: free ports)");
  cmd->add_option("--worker-arg", o.extra_worker_args,
                  "extra argument for every worker (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--router-arg", o.extra_router_args, "extra argument for the router (repeatable)")
      ->allow_extra_args(false);
  r->supervisor.restart.enabled = true;
  cmd->add_flag(
      "!--no-restart", r->supervisor.restart.enabled,
      "stop everything when a child dies (default: restart it with backoff, the others serve on)");
  const SecondsFlag role_down =
      add_seconds_flag(*cmd, "--role-down-timeout", 60, 1, 86400,
                       "seconds every worker of a role (or the router) may stay down before the "
                       "cluster stops");
  const SecondsFlag grace =
      add_seconds_flag(*cmd, "--shutdown-grace", 30, 0, 3600,
                       "on Ctrl-C / SIGTERM: seconds running requests may take to finish before "
                       "they end with an error event");
  cmd->final_callback([r, role_down, grace, content_format] {
    std::vector<std::string>& router_args = r->serve.extra_router_args;
    if (std::none_of(router_args.begin(), router_args.end(),
                     [](const std::string& a) { return a.starts_with("--shutdown-grace"); })) {
      router_args.push_back("--shutdown-grace=" + std::to_string(grace.seconds()));
    }
    if (!content_format->empty())
      router_args.push_back("--chat-template-content-format=" + *content_format);
    // The router drains first; each child gets its SIGTERM grace after that.
    r->supervisor.stop_grace = grace.ms() + std::chrono::seconds(10);
    r->supervisor.restart.role_down_limit = role_down.ms();
    int rc = run(*r);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
