// Starts a set of child processes in order, waits until each answers 200 on
// its health URL, then watches them until a signal or a death (or, with
// restarts on, until every child of one role stayed down too long), and
// stops them all (reverse order, SIGTERM, grace, SIGKILL).
//
//   Supervisor sup(options);
//   Status s = sup.start(specs);       // workers first, router last
//   if (!s.ok()) { print(s.message()); return 1; }  // every child already stopped
//   print("ready");
//   s = sup.wait();                    // ok: SIGINT/SIGTERM; error: a child died
//   // wait() stopped every child before it returned
//
//   idle ──start()──▶ starting ──all healthy──▶ running ──signal / child died──▶ stopped
//                        │ child exited, health timeout, signal                  ▲
//                        └────────────────────── stop() ─────────────────────────┘
//
// Launch: a spec with after_previous_healthy is spawned only when every
// child before it is healthy (the default: one at a time); a spec without it
// is spawned at once, so that workers load their models in parallel. Each
// child has health_timeout from its spawn to answer 200 on
// GET http://health_host:health_port/health_path. A child that exits
// (healthy or not) or does not become healthy in time fails the launch with
// a one-line message naming it, its exit status or last health error, and
// its last lines of output; a SIGINT/SIGTERM during the launch cancels it
// (kCancelled). In every failed case all started children are stopped
// before start() returns.
//
// Stop: children are stopped one at a time in reverse start order (the
// router first, so it stops taking requests while the workers behind it can
// still finish theirs): SIGTERM to its process group, up to stop_grace for
// it to exit, then SIGKILL. A second SIGINT/SIGTERM while stopping skips the
// grace periods. Every child is reaped. stop() is idempotent, and the
// destructor calls it.
//
// Restarts (options.restart.enabled): while running, a child that exits is
// spawned again after a backoff (RestartBackoff) while the others keep
// running; it counts as down from its death until it answers 200 on its
// health URL again (a restarted child not healthy within health_timeout is
// killed and restarted). wait() ends with kAborted, and stops everything,
// only once every child of one role (ChildSpec::role) has been down for
// restart.role_down_limit.
//
//   running ──child exits──▶ (that child) down ──backoff──▶ respawned ──healthy──▶ up
//
// Signals: with handle_signals, SIGINT and SIGTERM are watched from start()
// until stop() ended (a self-pipe; no work is done in the handler), and the
// previous handlers are put back after.
//
// Thread-safety: none; call everything from one thread, the one that lives
// as long as the children (see ChildProcess on parent death).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "launcher/child_process.h"
#include "launcher/restart_backoff.h"

namespace pdserve::launcher {

class HealthProbe;
class SignalWatcher;

struct ChildSpec {
  std::string name;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string health_host;
  uint16_t health_port = 0;
  std::string health_path = "/health";
  // Spawn only once every child before this one is healthy.
  bool after_previous_healthy = true;
  // Children of one role stand in for each other (restart.role_down_limit);
  // empty: the child is a role of its own.
  std::string role;
};

struct SupervisorOptions {
  std::chrono::milliseconds health_timeout{600'000};  // per child, from its spawn
  std::chrono::milliseconds health_poll_interval{200};
  std::chrono::milliseconds health_request_timeout{2'000};
  std::chrono::milliseconds stop_grace{15'000};  // per child, from its SIGTERM
  OutputMode output = OutputMode::kPrefix;
  int out_sink = 1;
  int err_sink = 2;
  size_t num_tail_lines = 5;  // quoted in failure messages
  bool handle_signals = true;
  RestartOptions restart;
};

// What a test or a status line wants to know of one child.
struct ChildInfo {
  std::string name;
  int pid = -1;
  bool healthy = false;
  std::optional<ExitStatus> exit_status;  // set once reaped (of the current process)
  int num_restarts = 0;
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorOptions options = {});
  ~Supervisor();  // stop()
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Spawns the children and waits until all are healthy. Errors:
  // kInvalidArgument (no specs, duplicate or empty name, a bad spec),
  // kFailedPrecondition (called twice, another SignalWatcher installed),
  // kNotFound / kInternal (a child could not be spawned),
  // kAborted (a child exited), kDeadlineExceeded (a child not healthy in
  // time), kCancelled (SIGINT/SIGTERM). Children are all stopped on error.
  Status start(const std::vector<ChildSpec>& specs);

  // After a successful start(): blocks until SIGINT/SIGTERM (ok; only with
  // handle_signals) or until a child exits (kAborted naming it, its exit
  // status and last output; with restarts: until every child of a role has
  // been down for role_down_limit, kAborted naming the role), then stops
  // every child. kFailedPrecondition when not running.
  Status wait();

  void stop();

  std::vector<ChildInfo> children() const;

 private:
  struct Child;
  Status spawn(const ChildSpec& spec);
  Result<std::unique_ptr<ChildProcess>> launch(const ChildSpec& spec);
  // One round of supervision with restarts: deaths, due restarts, health of
  // the restarted, roles down too long (kAborted).
  Status supervise(Clock::time_point now);
  void on_death(Child& child, const ExitStatus& exit, Clock::time_point now);
  Status check_roles(Clock::time_point now) const;
  // Polls health of the unhealthy children until all are healthy.
  Status wait_healthy();
  // kAborted for the first started child that has exited, else ok.
  Status check_exits(std::string_view when);
  // Sleeps up to `d`, or less when a signal arrives (then returns it).
  std::optional<int> pause(std::chrono::milliseconds d);
  Status fail_launch(Status status);

  SupervisorOptions options_;
  std::vector<std::unique_ptr<Child>> children_;  // in start order
  std::unique_ptr<SignalWatcher> signals_;
  std::unique_ptr<HealthProbe> probe_;
  bool started_ = false;
  bool running_ = false;
  bool stopped_ = false;
  Clock::time_point last_probe_{};
};

}  // namespace pdserve::launcher
