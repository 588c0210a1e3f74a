#include "cli/bench_router_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "bench/base_url.h"
#include "bench/cpu_list.h"
#include "bench/idle_connections.h"
#include "bench/process_usage.h"
#include "bench/replay_upstream.h"
#include "bench/result_report.h"
#include "bench/router_load.h"
#include "bench/router_report.h"
#include "common/server/http_client.h"
#include "common/wire/internal_api.h"
#include "launcher/child_process.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::cli {
namespace {

using Clock = std::chrono::steady_clock;

// What the upstream replays (ASCII without '@' or '#', so the benchmark's
// stop strings never match nor hold text back, and without a quote or a
// backslash, so that the clients read the text out of a chunk as it is).
constexpr const char* kReplayText =
    "The router relays every token a cluster generates: it decodes the token ids into text, "
    "checks the text against the stop strings of the request, wraps it in an OpenAI chunk and "
    "writes it to the client. A decode worker at batch 256 produces twenty thousand tokens per "
    "second, and the front door must never be what limits the cluster. This paragraph is only "
    "here to give the benchmark real token ids to replay, one after the other, in a loop.";
constexpr const char* kChatPrompt = "Tell me about the router.";
constexpr auto kHeartbeatEvery = std::chrono::seconds(2);
constexpr auto kRouterStartTimeout = std::chrono::seconds(60);

struct Flags {
  std::string model_dir;
  std::string router_url;
  int router_pid = 0;
  std::string cluster_token;
  int router_threads = 0;
  std::string router_cpus;
  int num_streams = 100;
  double duration_s = 5;
  int output_len = 64;
  double step_interval_ms = 20;
  int num_step_groups = 1;
  int num_idle_connections = 1000;
  std::vector<std::string> scenarios;
  std::string output_json;
};

// A router of our own: `pdserve router` on a free port, its output kept
// quiet (its last lines are shown when it fails to start).
struct OwnRouter {
  std::unique_ptr<launcher::ChildProcess> child;
  std::string url;
};

Result<OwnRouter> start_router(const Flags& f) {
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  launcher::ChildOptions o;
  o.name = "router";
  o.argv = {std::filesystem::read_symlink("/proc/self/exe").string(), "router", "--model",
            f.model_dir, "--port", "0", "--cluster-token", f.cluster_token, "--max-connections",
            std::to_string(f.num_streams + f.num_idle_connections + 64),
            // The replay upstream shares the cores with thousands of clients:
            // its late state answer or event is the benchmark's own lag, not
            // a stalled worker to route around (the poll's deadline is half).
            "--stream-silence-timeout", "60"};
  if (f.router_threads > 0) {
    o.argv.push_back("--threads");
    o.argv.push_back(std::to_string(f.router_threads));
  }
  o.out_sink = devnull;
  o.err_sink = devnull;
  Result<std::unique_ptr<launcher::ChildProcess>> spawned =
      launcher::ChildProcess::spawn(std::move(o));
  ::close(devnull);
  PD_ASSIGN_OR_RETURN(std::unique_ptr<launcher::ChildProcess> child, std::move(spawned));
  const std::string marker = "OpenAI API on ";
  for (Clock::time_point deadline = Clock::now() + kRouterStartTimeout; Clock::now() < deadline;) {
    for (const std::string& line : child->tail()) {
      const size_t at = line.find(marker);
      if (at == std::string::npos) continue;
      std::string url = line.substr(at + marker.size());
      if (url.size() > 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
      return OwnRouter{std::move(child), url};
    }
    if (child->try_wait()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::string tail;
  for (const std::string& l : child->tail()) tail += " | " + l;
  return unavailable("the router did not start" + tail);
}

// The router started here runs on `router_cpus`, the benchmark on every
// other CPU it may use. Returns the benchmark's CPUs.
Result<std::vector<int>> start_router_pinned(const Flags& f, std::optional<OwnRouter>* own) {
  PD_ASSIGN_OR_RETURN(std::vector<int> router_cpus, bench::parse_cpu_list(f.router_cpus));
  PD_ASSIGN_OR_RETURN(std::vector<int> allowed, bench::allowed_cpus());
  std::vector<int> rest;
  for (int c : allowed) {
    if (std::find(router_cpus.begin(), router_cpus.end(), c) == router_cpus.end())
      rest.push_back(c);
  }
  if (allowed.size() != rest.size() + router_cpus.size())
    return invalid_argument("--router-cpus " + f.router_cpus + ": not all of them are CPUs " +
                            "this process may run on");
  if (rest.empty())
    return invalid_argument("--router-cpus " + f.router_cpus +
                            ": no CPU is left for the benchmark itself");
  // The router inherits the pinning of the thread that starts it.
  PD_RETURN_IF_ERROR(bench::pin_calling_thread(router_cpus));
  Result<OwnRouter> r = start_router(f);
  PD_RETURN_IF_ERROR(bench::pin_calling_thread(rest));
  if (!r.ok()) return r.status();
  *own = std::move(r).value();
  return rest;
}

std::string cpu_list_text(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

// The served model's name, from GET /v1/models.
Result<std::string> served_model(server::HttpClient& client, const bench::BaseUrl& url) {
  PD_ASSIGN_OR_RETURN(server::ClientResponse r,
                      client.get(url.host, url.port, url.prefix + "/v1/models"));
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  if (r.status != 200 || !j.is_object() || !j.contains("data") || !j["data"].is_array() ||
      j["data"].empty() || !j["data"][0].contains("id") || !j["data"][0]["id"].is_string())
    return unavailable("GET /v1/models answered " + std::to_string(r.status) + ": " +
                       r.body.substr(0, 200));
  return j["data"][0]["id"].get<std::string>();
}

// Registers the upstream at once and then every kHeartbeatEvery (as a
// decode worker's registrar does) until destroyed.
class Heartbeat {
 public:
  Heartbeat(server::HttpClient& client, bench::BaseUrl router, std::string token,
            server::internal::Registration reg)
      : client_(client),
        router_(std::move(router)),
        token_(std::move(token)),
        body_(server::internal::to_json(reg)) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Status start() {
    PD_RETURN_IF_ERROR(beat());
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, kHeartbeatEvery, [this] { return stop_; })) (void)beat();
    });
    return ok_status();
  }

 private:
  Status beat() {
    server::ClientRequest req = server::ClientRequest::post_json(
        router_.host, router_.port, router_.prefix + "/internal/v1/register", body_);
    req.headers.set("Authorization", "Bearer " + token_);
    PD_ASSIGN_OR_RETURN(server::ClientResponse r, client_.send(std::move(req)));
    if (r.status != 200)
      return unavailable("registering the replay upstream: HTTP " + std::to_string(r.status) +
                         ": " + r.body.substr(0, 200));
    return ok_status();
  }

  server::HttpClient& client_;
  const bench::BaseUrl router_;
  const std::string token_, body_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The tokens to replay and the bytes of relayed text after each one.
Status replay_tokens(const Flags& f, std::vector<int32_t>* ids, std::vector<size_t>* bytes) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<tokenizer::Tokenizer> tok,
                      tokenizer::Tokenizer::from_file(f.model_dir + "/tokenizer.json"));
  PD_ASSIGN_OR_RETURN(*ids, tok->encode(kReplayText, {}));
  tokenizer::IncrementalDecoder detok(*tok, true);
  size_t total = 0;
  for (int k = 0; k < f.output_len; ++k) {
    Result<std::string> t = detok.push((*ids)[static_cast<size_t>(k) % ids->size()]);
    if (t.ok()) total += t->size();
    if (k + 1 == f.output_len) total += detok.flush().size();
    bytes->push_back(total);
  }
  return ok_status();
}

std::string machine_line() {
  double load[1] = {0};
  char buf[128];
  std::snprintf(buf, sizeof buf, "%u cores, load average %.2f at the start",
                std::thread::hardware_concurrency(), getloadavg(load, 1) == 1 ? load[0] : -1.0);
  return buf;
}

Status run(Flags f) {
  if (f.cluster_token.empty()) {
    if (const char* env = std::getenv("PDSERVE_CLUSTER_TOKEN")) f.cluster_token = env;
  }
  if (f.router_url.empty() != (f.router_pid == 0))
    return invalid_argument("--router-url and --router-pid go together (a running router)");
  if (!f.router_url.empty() && !f.router_cpus.empty())
    return invalid_argument("--router-cpus pins the router started here, not one at --router-url");
  if (!f.router_url.empty() && f.cluster_token.empty())
    return invalid_argument(
        "--cluster-token (or $PDSERVE_CLUSTER_TOKEN): a running router needs it");
  if (f.cluster_token.empty()) f.cluster_token = "bench-" + std::to_string(std::random_device{}());
  std::vector<bench::RouterScenario> scenarios;
  for (const bench::RouterScenario& s : bench::all_router_scenarios()) {
    if (f.scenarios.empty() ||
        std::find(f.scenarios.begin(), f.scenarios.end(), s.name()) != f.scenarios.end())
      scenarios.push_back(s);
  }
  if (scenarios.size() < std::max<size_t>(1, f.scenarios.size()))
    return invalid_argument(
        "--scenario: a name not among completions|chat/stream|full/plain|stop|logprobs "
        "and direct/stream/plain");

  bench::RouterLoadOptions lo;
  PD_RETURN_IF_ERROR(replay_tokens(f, &lo.prompt_ids, &lo.expected_bytes));
  const std::vector<int32_t> replay_ids = lo.prompt_ids;
  lo.prompt_ids.resize(std::min<size_t>(lo.prompt_ids.size(), 16));
  lo.prompt_text = kChatPrompt;
  lo.output_len = f.output_len;
  lo.num_streams = f.num_streams;
  lo.duration = std::chrono::milliseconds(static_cast<int64_t>(f.duration_s * 1000));
  lo.cluster_token = f.cluster_token;

  std::optional<OwnRouter> own;
  std::string pinning;
  if (!f.router_cpus.empty()) {
    PD_ASSIGN_OR_RETURN(std::vector<int> bench_cpus, start_router_pinned(f, &own));
    pinning = "; router on CPUs " + f.router_cpus + ", benchmark on " + cpu_list_text(bench_cpus);
  } else if (f.router_url.empty()) {
    PD_ASSIGN_OR_RETURN(OwnRouter r, start_router(f));
    own = std::move(r);
  }
  if (own) {
    f.router_url = own->url;
    f.router_pid = own->child->pid();
  }
  PD_ASSIGN_OR_RETURN(lo.router, bench::parse_base_url(f.router_url));
  server::HttpClient control;
  PD_ASSIGN_OR_RETURN(lo.model, served_model(control, lo.router));
  PD_ASSIGN_OR_RETURN(
      std::unique_ptr<bench::ReplayUpstream> upstream,
      bench::ReplayUpstream::start(
          {replay_ids, std::chrono::microseconds(static_cast<int64_t>(f.step_interval_ms * 1000)),
           f.num_step_groups, f.cluster_token, lo.model}));
  lo.upstream = upstream.get();
  server::internal::Registration reg{"decode", {"127.0.0.1", upstream->port()}, lo.model};
  Heartbeat heartbeat(control, lo.router, f.cluster_token, reg);
  PD_RETURN_IF_ERROR(heartbeat.start());

  bench::RouterBenchReport report;
  report.machine = machine_line() + pinning;
  report.router_threads = f.router_threads;
  report.step_interval_ms = f.step_interval_ms;
  report.num_step_groups = f.num_step_groups;
  report.output_len = f.output_len;
  for (const bench::RouterScenario& s : scenarios) {
    PD_ASSIGN_OR_RETURN(double cpu0, bench::process_cpu_seconds(f.router_pid));
    bench::RouterScenarioReport r;
    r.name = s.name();
    r.num_streams = f.num_streams;
    r.load = bench::run_router_load(s, lo);
    PD_ASSIGN_OR_RETURN(double cpu1, bench::process_cpu_seconds(f.router_pid));
    r.router_cpu_s = cpu1 - cpu0;
    r.num_upstream_connections = upstream->num_generate_connections();
    upstream->clear_records();
    report.scenarios.push_back(std::move(r));
  }
  if (f.num_idle_connections > 0) {
    PD_ASSIGN_OR_RETURN(size_t rss0, bench::process_rss_bytes(f.router_pid));
    bench::IdleConnections idle;
    PD_RETURN_IF_ERROR(
        idle.open(lo.router.host, lo.router.port, "/health", f.num_idle_connections));
    PD_ASSIGN_OR_RETURN(size_t rss1, bench::process_rss_bytes(f.router_pid));
    report.num_idle_connections = f.num_idle_connections;
    report.idle_connection_bytes =
        (static_cast<double>(rss1) - static_cast<double>(rss0)) / f.num_idle_connections;
  }
  std::fputs(bench::router_report_table(report).c_str(), stdout);
  std::fflush(stdout);
  if (!f.output_json.empty())
    PD_RETURN_IF_ERROR(bench::write_text_file(f.output_json, bench::router_report_json(report)));
  int failed = 0;
  for (const bench::RouterScenarioReport& r : report.scenarios) failed += r.load.num_failed;
  if (failed > 0)
    return failed_precondition(std::to_string(failed) + " request(s) failed; see the table above");
  return ok_status();
}

}  // namespace

void add_bench_router_command(CLI::App& bench) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = bench.add_subcommand(
      "router",
      "the router alone: CPU per relayed token, tokens per core-second, added latency per chunk");
  cmd->add_option("--model", f->model_dir, "model folder (tokenizer; the router's --model)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--router-url", f->router_url,
                  "a running router, http://host:port (default: start one)");
  cmd->add_option("--router-pid", f->router_pid, "its process id (for its CPU time)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cluster-token", f->cluster_token,
                  "the router's cluster token (default: $PDSERVE_CLUSTER_TOKEN)");
  cmd->add_option("--router-threads", f->router_threads,
                  "--threads of the router started here (0: its default, every core)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--router-cpus", f->router_cpus,
                  "pin the router started here to these CPUs (e.g. 0 or 0,2-3) and the benchmark "
                  "to the others, so that they do not share cores");
  cmd->add_option("--streams", f->num_streams, "concurrent clients")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  cmd->add_option("--duration", f->duration_s, "seconds per scenario")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->add_option("--output-len", f->output_len, "tokens per request")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd->add_option("--step-interval-ms", f->step_interval_ms,
                  "the upstream sends one token to every stream this often")
      ->check(CLI::Range(0.1, 10'000.0))
      ->capture_default_str();
  cmd->add_option("--step-groups", f->num_step_groups,
                  "the streams take their token in this many groups spread evenly over a step "
                  "(as decode workers out of phase); 1: all at once, one batch step")
      ->check(CLI::Range(1, 10'000))
      ->capture_default_str();
  cmd->add_option("--idle-connections", f->num_idle_connections,
                  "kept-alive idle connections to measure the router's memory with (0: skip)")
      ->check(CLI::Range(0, 10'000))
      ->capture_default_str();
  cmd->add_option("--scenario", f->scenarios,
                  "run only these (repeatable): completions|chat / stream|full / "
                  "plain|stop|logprobs, e.g. completions/stream/plain; direct/stream/plain: the "
                  "upstream read without the router (the benchmark's own latency)");
  cmd->add_option("--output-json", f->output_json, "write the report here");
  cmd->final_callback([f] {
    Status s = run(*f);
    if (!s.ok()) {
      std::fprintf(stderr, "pdserve bench router: %s\n", s.message().c_str());
      throw CLI::RuntimeError(1);
    }
  });
}

}  // namespace pdserve::cli
