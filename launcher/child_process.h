// One child process: spawned with fork + exec in its own session,
// killed by the kernel when the launcher dies, its output prefixed with its
// name or inherited, signalled, waited for with a deadline, reaped once.
//
//   ChildOptions opts;
//   opts.name = "decode-0";
//   opts.argv = {"/usr/bin/pdserve", "decode", "--port", "8002"};
//   opts.env = {{"CUDA_VISIBLE_DEVICES", "1"}};
//   Result<std::unique_ptr<ChildProcess>> c = ChildProcess::spawn(std::move(opts));
//   (*c)->signal(SIGTERM);
//   Result<ExitStatus> s = (*c)->wait_for_exit(Clock::now() + std::chrono::seconds(10));
//   if (!s.ok()) (*c)->kill();   // kDeadlineExceeded: still running
//
// Life of a child:
//
//   spawn ──▶ running ──(exits / killed)──▶ reaped (exit_status() set)
//
// Session and process group: the child leads its own session (setsid) and so
// its own process group, so a Ctrl-C in the terminal reaches only the
// launcher, which then stops the children in order. signal() and kill() go
// to the whole group while the child is not reaped. Where the kernel shares
// CPU time between sessions (autogroup, on by default on Debian), each child
// also gets its own share: a worker busy on every core, or the benchmark
// that starts a router, does not take its share from the router.
// When the child is reaped, what is left of its group is SIGKILLed, so that a
// grandchild cannot outlive it holding the output pipes.
//
// Parent death: the child asks the kernel (PR_SET_PDEATHSIG) for
// parent_death_signal when the thread that spawned it exits, and checks
// after that call that the launcher did not die before it (the race).
// Spawn children from a thread that lives as long as they do (the main
// thread): when the spawning thread exits, its children get the signal.
//
// Errors: spawn returns kInvalidArgument for an empty argv or name,
// kNotFound when argv[0] is not an executable (searched in PATH when it has
// no '/'), kInternal when fork/pipe fail or exec fails in the child (the
// errno is reported back through a close-on-exec pipe).
//
// Thread-safety: tail() may be called from any thread; everything else from
// one thread at a time.
#pragma once

#include <chrono>
#include <csignal>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace pdserve::launcher {

class OutputPump;

using Clock = std::chrono::steady_clock;

// How a reaped child ended.
struct ExitStatus {
  bool exited = false;  // true: exit(code); false: killed by term_signal (0: unknown,
                        // the child was reaped by someone else)
  int code = 0;
  int term_signal = 0;

  bool success() const { return exited && code == 0; }
  // "exited with code 3", "killed by signal 9 (SIGKILL)".
  std::string to_string() const;
  // From a waitpid status word; -1: unknown.
  static ExitStatus from_wait_status(int wait_status);
};

// "SIGTERM" for SIGTERM; "" for a signal without a name here.
std::string_view signal_name(int signo);

enum class OutputMode {
  kInherit,  // the child writes straight to our stdout / stderr
  kPrefix,   // through pipes: "[name] line" on out_sink / err_sink, last lines kept
};

struct ChildOptions {
  std::string name;               // "decode-0": the output prefix and the name in messages
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up in PATH
  // Added to the launcher's environment; a name already there is replaced.
  std::vector<std::pair<std::string, std::string>> env;
  OutputMode output = OutputMode::kPrefix;
  int out_sink = 1;  // kPrefix: where the child's stdout lines go
  int err_sink = 2;  // kPrefix: where the child's stderr lines go
  size_t num_tail_lines = 20;
  int parent_death_signal = SIGKILL;
};

class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> spawn(ChildOptions options);

  // Kills the group (when not reaped), reaps, and joins the output reader.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  const std::string& name() const { return options_.name; }
  int pid() const { return pid_; }
  bool reaped() const { return exit_status_.has_value(); }
  // Set once the child was reaped.
  const std::optional<ExitStatus>& exit_status() const { return exit_status_; }

  // Sends signo to the child's process group. kFailedPrecondition once the
  // child was reaped (its pid may belong to someone else by now).
  Status signal(int signo);
  // SIGKILL to the process group; nothing once reaped.
  void kill();

  // Reaps the child when it has exited; never blocks.
  std::optional<ExitStatus> try_wait();
  // Blocks until the child exited (and reaps it) or the deadline passed:
  // then kDeadlineExceeded, and the child runs on.
  Result<ExitStatus> wait_for_exit(Clock::time_point deadline);

  // The last lines of the child's output, oldest first (kPrefix only).
  std::vector<std::string> tail() const;

 private:
  explicit ChildProcess(ChildOptions options);
  void on_reaped(int wait_status);

  ChildOptions options_;
  int pid_ = -1;
  std::optional<ExitStatus> exit_status_;
  std::unique_ptr<OutputPump> pump_;
};

}  // namespace pdserve::launcher
