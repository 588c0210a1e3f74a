// A stand-in for a pdserve process in the launcher tests: serves GET /health
// on 127.0.0.1:PORT and is told how to misbehave.
//
//   test_health_server --name decode-0 --port 8001
//       [--healthy-after-ms N]    answer 503 until N ms after start
//       [--unhealthy-after-ms N]  answer 503 from N ms after start on
//       [--exit-after-ms N]       exit with --exit-code (default 3) after N ms
//       [--ignore-sigterm]        SIGTERM is ignored (only SIGKILL stops it)
//       [--exit-if-exists FILE]   exit with --exit-code at once when FILE exists
//       [--log FILE]              appends "NAME started" and "NAME sigterm" lines
//   test_health_server prefill|decode|router --port 8001 [--log FILE] [any other flags]
//       as a pdserve role: named after it, other flags ignored, and the
//       "started" line shows PDSERVE_CLUSTER_TOKEN and NCCL_NVLS_ENABLE
//
// Prints "NAME listening on PORT" to stdout and "NAME to stderr" to stderr.
// On SIGTERM: logs, stops the server, exits 0.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/server/http_server.h"
#include "common/server/routes.h"
#include "common/wire/http_message.h"

namespace {

using Clock = std::chrono::steady_clock;

void append_log(const std::string& path, const std::string& line) {
  if (path.empty()) return;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string l = line + "\n";
  (void)!::write(fd, l.data(), l.size());
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "server";
  std::string log_path;
  int port = 0;
  long healthy_after_ms = 0;
  long unhealthy_after_ms = -1;
  long exit_after_ms = -1;
  int exit_code = 3;
  bool ignore_sigterm = false;
  std::string exit_if_exists;
  int first_flag = 1;
  // Standing in for `pdserve prefill|decode|router ...`: named after the role,
  // flags it does not know (with their values) ignored.
  const bool as_pdserve = argc > 1 && argv[1][0] != '-';
  if (as_pdserve) {
    name = argv[1];
    first_flag = 2;
  }
  for (int i = first_flag; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--name") {
      name = next();
    } else if (a == "--port") {
      port = std::atoi(next().c_str());
    } else if (a == "--healthy-after-ms") {
      healthy_after_ms = std::atol(next().c_str());
    } else if (a == "--unhealthy-after-ms") {
      unhealthy_after_ms = std::atol(next().c_str());
    } else if (a == "--exit-after-ms") {
      exit_after_ms = std::atol(next().c_str());
    } else if (a == "--exit-code") {
      exit_code = std::atoi(next().c_str());
    } else if (a == "--ignore-sigterm") {
      ignore_sigterm = true;
    } else if (a == "--exit-if-exists") {
      exit_if_exists = next();
    } else if (a == "--log") {
      log_path = next();
    } else if (as_pdserve) {
      if (i + 1 < argc && argv[i + 1][0] != '-') ++i;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }

  if (!exit_if_exists.empty() && ::access(exit_if_exists.c_str(), F_OK) == 0) return exit_code;

  // SIGTERM is taken with sigtimedwait below, so block it before any thread starts.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  if (ignore_sigterm) {
    ::signal(SIGTERM, SIG_IGN);
  } else {
    ::pthread_sigmask(SIG_BLOCK, &term, nullptr);
  }

  const Clock::time_point start = Clock::now();
  auto ms_since_start = [start] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  };
  pdserve::server::Routes routes;
  routes.add("GET", "/health", [&](const pdserve::server::Request&) {
    long t = ms_since_start();
    bool healthy = t >= healthy_after_ms && (unhealthy_after_ms < 0 || t < unhealthy_after_ms);
    return healthy ? pdserve::server::Response::text(200, "ok")
                   : pdserve::server::Response::text(503, "not ready");
  });
  // Logged before /health can answer, so that the order of the "started"
  // lines is the order in which the supervisor saw its children healthy.
  if (as_pdserve) {
    const char* token = std::getenv("PDSERVE_CLUSTER_TOKEN");
    const char* nvls = std::getenv("NCCL_NVLS_ENABLE");
    append_log(log_path,
               name + " started token=" + (token ? token : "") + " nvls=" + (nvls ? nvls : ""));
  } else {
    append_log(log_path, name + " started");
  }
  pdserve::server::ServerOptions opts;
  opts.port = static_cast<uint16_t>(port);
  opts.num_io_threads = 1;
  auto server = pdserve::server::Server::start(opts, std::move(routes));
  if (!server.ok()) {
    std::fprintf(stderr, "%s: %s\n", name.c_str(), server.status().message().c_str());
    return 4;
  }
  std::printf("%s listening on %u\n", name.c_str(), (*server)->port());
  std::fflush(stdout);
  std::fprintf(stderr, "%s to stderr\n", name.c_str());

  while (true) {
    if (exit_after_ms >= 0 && ms_since_start() >= exit_after_ms) {
      std::fprintf(stderr, "%s exiting with %d as told\n", name.c_str(), exit_code);
      std::_Exit(exit_code);
    }
    timespec ts{0, 10'000'000};
    if (!ignore_sigterm && ::sigtimedwait(&term, nullptr, &ts) == SIGTERM) break;
    if (ignore_sigterm) ::nanosleep(&ts, nullptr);
  }
  append_log(log_path, name + " sigterm");
  (*server)->stop(std::chrono::milliseconds(500));
  return 0;
}
