#include "launcher/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>

#include "launcher/output_pump.h"

extern char** environ;

namespace pdserve::launcher {
namespace {

constexpr auto kDrainAfterExit = std::chrono::milliseconds(500);

bool is_executable_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

Result<std::string> resolve_executable(const std::string& argv0) {
  if (argv0.find('/') != std::string::npos) {
    if (is_executable_file(argv0)) return argv0;
    return not_found("'" + argv0 + "' is not an executable file");
  }
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (true) {
    size_t colon = path.find(':');
    std::string dir(path.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + argv0;
    if (is_executable_file(candidate)) return candidate;
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return not_found("'" + argv0 + "' not found in PATH");
}

// The launcher's environment with `extra` added, replacing names already there.
std::vector<std::string> build_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view key = entry.substr(0, entry.find('='));
    bool replaced = false;
    for (const auto& [name, value] : extra) replaced = replaced || key == name;
    if (!replaced) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) {
    std::string entry = name;
    entry.append("=").append(value);
    env.push_back(std::move(entry));
  }
  return env;
}

std::vector<char*> to_c_array(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

struct ChildFds {
  int out_write = -1;
  int err_write = -1;
  int exec_error_write = -1;
  int max_fd = 1024;
};

// After fork, in the child: only async-signal-safe calls. Never returns.
[[noreturn]] void exec_child(const char* path, char* const* argv, char* const* envp,
                             const ChildFds& fds, pid_t parent_pid, int death_signal) {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; ++s) {
    if (s != SIGKILL && s != SIGSTOP) ::sigaction(s, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  int err = 0;
  if (::setsid() < 0) err = errno;
  if (err == 0 && ::prctl(PR_SET_PDEATHSIG, death_signal) != 0) err = errno;
  // The launcher may have died before prctl: then we were reparented already.
  if (::getppid() != parent_pid) ::_exit(1);

  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  if (fds.out_write >= 0) ::dup2(fds.out_write, 1);
  if (fds.err_write >= 0) ::dup2(fds.err_write, 2);
  // The exec-error pipe moves to fd 3 (still close-on-exec); all else closes.
  int report_fd = 3;
  if (fds.exec_error_write != 3 && ::dup3(fds.exec_error_write, 3, O_CLOEXEC) < 0) {
    report_fd = fds.exec_error_write;
  }
  if (report_fd == 3 && ::close_range(4, ~0U, 0) != 0) {
    for (int fd = 4; fd < fds.max_fd; ++fd) ::close(fd);
  }
  if (err == 0) {
    ::execve(path, argv, envp);
    err = errno;
  }
  (void)!::write(report_fd, &err, sizeof(err));
  ::_exit(127);
}

}  // namespace

std::string_view signal_name(int signo) {
  switch (signo) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGTERM: return "SIGTERM";
    default: return "";
  }
}

std::string ExitStatus::to_string() const {
  if (exited) return "exited with code " + std::to_string(code);
  if (term_signal == 0) return "ended with an unknown status";
  std::string out = "killed by signal " + std::to_string(term_signal);
  std::string_view name = signal_name(term_signal);
  if (!name.empty()) out.append(" (").append(name).append(")");
  return out;
}

ExitStatus ExitStatus::from_wait_status(int wait_status) {
  ExitStatus s;
  if (wait_status == -1) return s;  // unknown
  if (WIFEXITED(wait_status)) {
    s.exited = true;
    s.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    s.term_signal = WTERMSIG(wait_status);
  }
  return s;
}

ChildProcess::ChildProcess(ChildOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(ChildOptions options) {
  if (options.name.empty()) return invalid_argument("child process needs a name");
  if (options.argv.empty()) return invalid_argument(options.name + ": empty argv");
  Result<std::string> path = resolve_executable(options.argv[0]);
  if (!path.ok()) return path.status().with_context(options.name);

  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = build_environment(options.env);
  std::vector<char*> argv = to_c_array(argv_strings);
  std::vector<char*> envp = to_c_array(env_strings);

  ChildFds fds;
  struct rlimit lim;
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    fds.max_fd = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 65536));
  }
  int out_pipe[2] = {-1, -1};
  int err_pipe[2] = {-1, -1};
  int exec_pipe[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {out_pipe, err_pipe, exec_pipe}) {
      close_fd(p[0]);
      close_fd(p[1]);
    }
  };
  bool piped = options.output == OutputMode::kPrefix;
  if ((piped && (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)) ||
      ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    int e = errno;
    close_all();
    return internal_error(options.name + ": pipe: " + std::strerror(e));
  }
  fds.out_write = out_pipe[1];
  fds.err_write = err_pipe[1];
  fds.exec_error_write = exec_pipe[1];

  // No signal handler of ours may run in the child between fork and exec.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t parent_pid = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    exec_child(path->c_str(), argv.data(), envp.data(), fds, parent_pid,
               options.parent_death_signal);
  }
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    close_all();
    return internal_error(options.name + ": fork: " + std::strerror(fork_errno));
  }
  // The child's setsid() ran before its exec, and spawn returns after the
  // exec (below): signal() right after spawn finds the group. (No setpgid
  // from here: a group leader's setsid() fails.)
  close_fd(out_pipe[1]);
  close_fd(err_pipe[1]);
  close_fd(exec_pipe[1]);

  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close_fd(exec_pipe[0]);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close_all();
    return internal_error(options.name + ": exec " + *path + ": " + std::strerror(child_errno));
  }

  std::unique_ptr<ChildProcess> child(new ChildProcess(std::move(options)));
  child->pid_ = pid;
  if (piped) {
    child->pump_ = std::make_unique<OutputPump>(child->options_.name, out_pipe[0], err_pipe[0],
                                                child->options_.out_sink, child->options_.err_sink,
                                                child->options_.num_tail_lines);
  }
  return child;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped()) {
    kill();
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    on_reaped(status);
  }
  pump_.reset();
}

Status ChildProcess::signal(int signo) {
  if (reaped()) return failed_precondition(name() + " was already reaped");
  if (::kill(-pid_, signo) != 0 && ::kill(pid_, signo) != 0) {
    return internal_error(name() + ": kill: " + std::strerror(errno));
  }
  return ok_status();
}

void ChildProcess::kill() {
  if (!reaped()) (void)signal(SIGKILL);
}

std::optional<ExitStatus> ChildProcess::try_wait() {
  if (reaped()) return exit_status_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    on_reaped(status);
  } else if (r < 0 && errno == ECHILD) {
    // Reaped by someone else (SIGCHLD ignored, or a stray waitpid(-1)): gone, status unknown.
    on_reaped(-1);
  }
  return exit_status_;
}

Result<ExitStatus> ChildProcess::wait_for_exit(Clock::time_point deadline) {
  auto nap = std::chrono::milliseconds(1);
  while (true) {
    if (std::optional<ExitStatus> s = try_wait()) return *s;
    Clock::time_point now = Clock::now();
    if (now >= deadline) return deadline_exceeded(name() + " is still running");
    std::this_thread::sleep_for(std::min<Clock::duration>(nap, deadline - now));
    nap = std::min(nap * 2, std::chrono::milliseconds(10));
  }
}

std::vector<std::string> ChildProcess::tail() const {
  return pump_ ? pump_->tail() : std::vector<std::string>{};
}

void ChildProcess::on_reaped(int wait_status) {
  exit_status_ = ExitStatus::from_wait_status(wait_status);
  // Leftovers of the group (grandchildren) would hold the output pipes open.
  // Not when someone else reaped the child: its pid may be reused by now.
  if (wait_status != -1) ::kill(-pid_, SIGKILL);
  if (pump_) pump_->finish(Clock::now() + kDrainAfterExit);
}

}  // namespace pdserve::launcher
