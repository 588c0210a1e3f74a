// SIGINT and SIGTERM as bytes on a pipe (the self-pipe trick): the handler
// only write(2)s the signal number, the supervisor's loop reads it. Works
// whichever thread the kernel picks to run the handler, so the launcher's
// other threads (output readers, HTTP client) need no signal mask.
//
//   Result<std::unique_ptr<SignalWatcher>> w = SignalWatcher::install();
//   if (std::optional<int> sig = (*w)->wait(std::chrono::milliseconds(50))) ...stop...
//
// While installed it also ignores SIGPIPE: a closed pipe or terminal on our
// stdout must not kill the launcher (and through PDEATHSIG every child);
// such writes fail with EPIPE instead.
//
// One watcher at a time per process (kFailedPrecondition otherwise). The
// destructor puts the previous handlers back. Not thread-safe: one thread
// reads.
#pragma once

#include <chrono>
#include <csignal>
#include <memory>
#include <optional>

#include "common/base/status.h"

namespace pdserve::launcher {

class SignalWatcher {
 public:
  static Result<std::unique_ptr<SignalWatcher>> install();
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // A signal that arrived and was not read yet, waiting up to timeout for one.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  SignalWatcher(int read_fd, int write_fd) : read_fd_(read_fd), write_fd_(write_fd) {}

  int read_fd_;
  int write_fd_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  struct sigaction old_pipe_ {};
};

}  // namespace pdserve::launcher
