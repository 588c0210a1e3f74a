#include "cli/router_command.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "cli/log_format_flag.h"
#include "cli/seconds_flag.h"
#include "common/base/request_fault.h"
#include "common/base/termination.h"
#include "router/router_server.h"

namespace pdserve::cli {
namespace {

int run(router::RouterOptions o, std::chrono::milliseconds shutdown_grace) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve router: %s\n", s.message().c_str());
    return 1;
  };
  if (o.cluster_token.empty()) {
    if (const char* env = std::getenv("PDSERVE_CLUSTER_TOKEN")) o.cluster_token = env;
  }
  if (o.cluster_token.empty()) {
    return fail(
        invalid_argument("give the cluster token: --cluster-token or PDSERVE_CLUSTER_TOKEN"));
  }
  if (o.api_keys.empty()) {
    if (const char* env = std::getenv("PDSERVE_API_KEY")) o.api_keys.push_back(env);
  }
  Result<int64_t> request_fault = request_fault_from_env(kRouterFaultEnv);
  if (!request_fault.ok()) return fail(request_fault.status());
  o.request_fault = *request_fault;
  block_termination_signals();  // before any thread starts
  const std::string host = o.host;
  auto r = router::RouterServer::start(std::move(o));
  if (!r.ok()) return fail(r.status());
  std::printf("pdserve router: OpenAI API on http://%s:%u/v1\n", host.c_str(), (*r)->port());
  std::fflush(stdout);
  wait_for_termination_signal();
  (*r)->stop(shutdown_grace);
  return 0;
}

}  // namespace

void add_router_command(CLI::App& app) {
  auto o = std::make_shared<router::RouterOptions>();
  CLI::App* cmd = app.add_subcommand("router", "run the router (OpenAI API) in front of workers");
  add_log_format_flag(*cmd);
  cmd->add_option("--model", o->model_dir, "Hugging Face checkpoint folder (tokenizer, template)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--served-model-name", o->served_model_name,
                  "model name (default: the folder's)");
  cmd->add_option("--host", o->host, "address to bind");
  cmd->add_option("--port", o->port, "port (0: any free one)");
  cmd->add_option("--cluster-token", o->cluster_token,
                  "shared secret of the internal API (default: $PDSERVE_CLUSTER_TOKEN)");
  cmd->add_option("--api-key", o->api_keys,
                  "API key clients must send (repeatable; default: $PDSERVE_API_KEY)");
  cmd->add_option("--decode", o->decode_workers, "decode workers, host:port")->delimiter(',');
  cmd->add_option("--prefill", o->prefill_workers, "prefill workers, host:port")->delimiter(',');
  cmd->add_option("--policy", o->policy, "round_robin, least_load or prefix_aware")
      ->check(CLI::IsMember({"round_robin", "least_load", "prefix_aware"}));
  cmd->add_option("--prefill-mode", o->prefill_mode, "auto (conditional), remote (always) or local")
      ->check(CLI::IsMember({"auto", "remote", "local"}));
  cmd->add_option("--max-model-len", o->max_model_len, "context length (0: the model's)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--threads", o->num_threads,
                  "io threads for clients and for decode-worker streams, each (0: every core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--max-connections", o->max_connections,
                  "client connections open at once; one more is answered 503")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--max-n", o->limits.max_n, "largest n")->check(CLI::Range(1, 128));
  cmd->add_option("--tool-call-parser", o->tool_calls.parser,
                  "how the model writes tool calls: hermes, llama3_json or mistral");
  cmd->add_flag("--enable-auto-tool-choice", o->tool_calls.enable_auto_tool_choice,
                "read tool calls from the output when tool_choice is \"auto\" (needs "
                "--tool-call-parser)");
  cmd->add_option("--chat-template-content-format", o->chat_template_content_format,
                  "message content as the chat template gets it: auto (what the template "
                  "expects, as vLLM detects it), string (text parts joined) or openai (the list "
                  "of parts)")
      ->check(CLI::IsMember({"auto", "string", "openai"}))
      ->capture_default_str();
  const SecondsFlag silence = add_seconds_flag(
      *cmd, "--stream-silence-timeout", 5, 0.5, 3600,
      "seconds a decode worker's stream may stay silent (it sends heartbeats) before the worker "
      "counts as stalled (so does one that leaves a state poll unanswered for half of it)");
  const SecondsFlag retry = add_seconds_flag(
      *cmd, "--retry-window", 10, 0, 600,
      "seconds a request no decode worker took yet waits for one (e.g. restarting) before it "
      "fails");
  const SecondsFlag grace = add_seconds_flag(
      *cmd, "--shutdown-grace", 30, 0, 3600,
      "on SIGTERM: seconds running requests may take to finish before they end with an error "
      "event");
  cmd->final_callback([o, grace, silence, retry] {
    o->retry_window = retry.ms();
    o->stream_silence = silence.ms();
    int rc = run(*o, grace.ms());
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
