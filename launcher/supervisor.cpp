#include "launcher/supervisor.h"

#include <algorithm>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "common/base/logging.h"
#include "launcher/health_probe.h"
#include "launcher/signal_watcher.h"

namespace pdserve::launcher {
namespace {

constexpr auto kWatchInterval = std::chrono::milliseconds(50);
constexpr auto kKillWait = std::chrono::seconds(10);
constexpr size_t kMaxQuotedLineBytes = 300;

// Folds text onto one line: newlines and tabs become spaces.
std::string one_line(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

std::string quote_tail(const std::vector<std::string>& lines) {
  if (lines.empty()) return "";
  std::string out = "; last output: ";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += " | ";
    std::string line = one_line(lines[i]);
    if (line.size() > kMaxQuotedLineBytes) line = line.substr(0, kMaxQuotedLineBytes) + "...";
    out += line;
  }
  return out;
}

std::string seconds(Clock::duration d) {
  double s = std::chrono::duration<double>(d).count();
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", s);
  return buf;
}

}  // namespace

struct Supervisor::Child {
  explicit Child(const RestartOptions& restart) : backoff(restart) {}
  ChildSpec spec;
  std::unique_ptr<ChildProcess> process;
  Clock::time_point spawned_at;
  bool healthy = false;
  std::string last_health_error = "no answer yet";
  // With restarts, while running: down from a death until healthy again.
  RestartBackoff backoff;
  std::optional<Clock::time_point> down_since;
  std::optional<Clock::time_point> restart_at;  // set while dead, waiting for the backoff
  std::string last_death;                       // "exited with code 3; last output: ..."
  int num_restarts = 0;
};

Supervisor::Supervisor(SupervisorOptions options) : options_(options) {}

Supervisor::~Supervisor() {
  stop();
}

Status Supervisor::start(const std::vector<ChildSpec>& specs) {
  if (started_) return failed_precondition("supervisor already started");
  started_ = true;
  if (specs.empty()) return invalid_argument("nothing to start");
  std::set<std::string> names;
  for (const ChildSpec& spec : specs) {
    if (spec.name.empty()) return invalid_argument("a child has no name");
    if (!names.insert(spec.name).second) return invalid_argument("two children named " + spec.name);
    if (spec.argv.empty()) return invalid_argument(spec.name + ": empty argv");
    if (spec.health_host.empty() || spec.health_port == 0) {
      return invalid_argument(spec.name + ": no health host:port");
    }
  }
  if (options_.handle_signals) {
    Result<std::unique_ptr<SignalWatcher>> w = SignalWatcher::install();
    if (!w.ok()) return w.status();
    signals_ = std::move(w).value();
  }
  probe_ = std::make_unique<HealthProbe>(options_.health_request_timeout);
  for (const ChildSpec& spec : specs) {
    if (spec.after_previous_healthy) {
      if (Status s = wait_healthy(); !s.ok()) return fail_launch(s);
    }
    if (Status s = spawn(spec); !s.ok()) return fail_launch(s);
  }
  if (Status s = wait_healthy(); !s.ok()) return fail_launch(s);
  running_ = true;
  return ok_status();
}

Result<std::unique_ptr<ChildProcess>> Supervisor::launch(const ChildSpec& spec) {
  ChildOptions opts;
  opts.name = spec.name;
  opts.argv = spec.argv;
  opts.env = spec.env;
  opts.output = options_.output;
  opts.out_sink = options_.out_sink;
  opts.err_sink = options_.err_sink;
  opts.num_tail_lines = options_.num_tail_lines;
  return ChildProcess::spawn(std::move(opts));
}

Status Supervisor::spawn(const ChildSpec& spec) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<ChildProcess> process, launch(spec));
  auto child = std::make_unique<Child>(options_.restart);
  child->spec = spec;
  child->process = std::move(process);
  child->spawned_at = Clock::now();
  PD_LOG(INFO) << "started " << spec.name << " (pid " << child->process->pid() << ")";
  children_.push_back(std::move(child));
  return ok_status();
}

Status Supervisor::wait_healthy() {
  while (true) {
    PD_RETURN_IF_ERROR(check_exits("before it was healthy"));
    bool all_healthy = true;
    for (auto& child : children_) {
      if (child->healthy) continue;
      const ChildSpec& spec = child->spec;
      Status s = probe_->check(spec.health_host, spec.health_port, spec.health_path);
      Clock::time_point now = Clock::now();
      if (s.ok()) {
        child->healthy = true;
        PD_LOG(INFO) << spec.name << " is healthy after " << seconds(now - child->spawned_at);
        continue;
      }
      child->last_health_error = one_line(s.message());
      all_healthy = false;
      if (now - child->spawned_at >= options_.health_timeout) {
        return deadline_exceeded(
            spec.name + " not healthy after " + seconds(now - child->spawned_at) + " (GET http://" +
            spec.health_host + ":" + std::to_string(spec.health_port) + spec.health_path + ": " +
            child->last_health_error + ")" + quote_tail(child->process->tail()));
      }
    }
    if (all_healthy) return ok_status();
    if (std::optional<int> sig = pause(options_.health_poll_interval)) {
      return cancelled("launch interrupted by " + std::string(signal_name(*sig)));
    }
  }
}

Status Supervisor::check_exits(std::string_view when) {
  for (auto& child : children_) {
    std::optional<ExitStatus> exit = child->process->try_wait();
    if (!exit) continue;
    return aborted(child->spec.name + " " + exit->to_string() + " " + std::string(when) +
                   quote_tail(child->process->tail()));
  }
  return ok_status();
}

std::optional<int> Supervisor::pause(std::chrono::milliseconds d) {
  if (signals_) return signals_->wait(d);
  std::this_thread::sleep_for(d);
  return std::nullopt;
}

Status Supervisor::fail_launch(Status status) {
  PD_LOG(ERROR) << "launch failed: " << status.message();
  stop();
  return status;
}

Status Supervisor::wait() {
  if (!running_) return failed_precondition("supervisor is not running");
  while (true) {
    Status s = options_.restart.enabled ? supervise(Clock::now()) : check_exits("unexpectedly");
    if (!s.ok()) {
      PD_LOG(ERROR) << s.message() << "; stopping the others";
      stop();
      return s;
    }
    if (std::optional<int> sig = pause(kWatchInterval)) {
      PD_LOG(INFO) << signal_name(*sig) << ": stopping";
      stop();
      return ok_status();
    }
  }
}

void Supervisor::on_death(Child& child, const ExitStatus& exit, Clock::time_point now) {
  child.healthy = false;
  if (!child.down_since) child.down_since = now;
  child.last_death = exit.to_string() + quote_tail(child.process->tail());
  const std::chrono::milliseconds delay = child.backoff.on_exit(now - child.spawned_at);
  child.restart_at = now + delay;
  PD_LOG(WARN) << child.spec.name << " " << child.last_death << "; restarting it in "
               << seconds(delay) << " while the others keep serving";
}

Status Supervisor::supervise(Clock::time_point now) {
  const bool probe_now = now - last_probe_ >= options_.health_poll_interval;
  if (probe_now) last_probe_ = now;
  for (auto& child : children_) {
    if (!child->restart_at) {
      if (std::optional<ExitStatus> exit = child->process->try_wait()) {
        on_death(*child, *exit, now);
      } else if (child->down_since && probe_now) {  // restarted, not healthy yet
        const ChildSpec& spec = child->spec;
        if (probe_->check(spec.health_host, spec.health_port, spec.health_path).ok()) {
          child->healthy = true;
          PD_LOG(INFO) << spec.name << " is back after " << seconds(now - *child->down_since)
                       << " down";
          child->down_since.reset();
        } else if (now - child->spawned_at >= options_.health_timeout) {
          child->process->kill();
          (void)child->process->wait_for_exit(now + std::chrono::seconds(10));
          on_death(*child, child->process->exit_status().value_or(ExitStatus{}), now);
        }
      }
    }
    if (child->restart_at && now >= *child->restart_at) {
      Result<std::unique_ptr<ChildProcess>> process = launch(child->spec);
      if (!process.ok()) {
        PD_LOG(ERROR) << child->spec.name << ": restart failed: " << process.status().message();
        child->restart_at = now + child->backoff.on_exit(Clock::duration::zero());
        continue;
      }
      child->process = std::move(process).value();
      child->spawned_at = now;
      child->restart_at.reset();
      ++child->num_restarts;
      PD_LOG(INFO) << "restarted " << child->spec.name << " (pid " << child->process->pid()
                   << ", restart " << child->num_restarts << ")";
    }
  }
  return check_roles(now);
}

Status Supervisor::check_roles(Clock::time_point now) const {
  // role -> the latest time one of its children went down (none: one is up)
  std::map<std::string, std::optional<Clock::time_point>> down;
  for (const auto& child : children_) {
    const std::string& role = child->spec.role.empty() ? child->spec.name : child->spec.role;
    auto [it, inserted] = down.emplace(role, child->down_since);
    if (!inserted && it->second) {
      it->second =
          child->down_since ? std::max(*it->second, *child->down_since) : child->down_since;
    }
  }
  for (const auto& [role, since] : down) {
    if (!since || now - *since < options_.restart.role_down_limit) continue;
    std::string last;
    for (const auto& child : children_) {
      const std::string& r = child->spec.role.empty() ? child->spec.name : child->spec.role;
      if (r == role) last = child->spec.name + " " + child->last_death;
    }
    return aborted("every " + role + " child has been down for " + seconds(now - *since) +
                   " (last: " + last + ")");
  }
  return ok_status();
}

void Supervisor::stop() {
  if (stopped_) return;
  stopped_ = true;
  running_ = false;
  bool hurry = false;  // a second signal: no more grace
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    ChildProcess& p = *(*it)->process;
    if (p.try_wait()) continue;
    if (!hurry) {
      (void)p.signal(SIGTERM);
      Clock::time_point deadline = Clock::now() + options_.stop_grace;
      while (!p.try_wait() && Clock::now() < deadline && !hurry) {
        if (pause(std::chrono::milliseconds(10))) {
          PD_LOG(WARN) << "second signal: killing what is left";
          hurry = true;
        }
      }
    }
    if (!p.reaped()) {
      if (!hurry) {
        PD_LOG(WARN) << p.name() << " did not stop within " << seconds(options_.stop_grace)
                     << " of SIGTERM; killing it";
      }
      p.kill();
      if (!p.wait_for_exit(Clock::now() + kKillWait).ok()) {
        PD_LOG(ERROR) << p.name() << " (pid " << p.pid() << ") survived SIGKILL for "
                      << seconds(kKillWait);
      }
    }
    PD_LOG(INFO) << p.name() << " " << p.exit_status().value_or(ExitStatus{}).to_string();
  }
  probe_.reset();
  signals_.reset();
}

std::vector<ChildInfo> Supervisor::children() const {
  std::vector<ChildInfo> out;
  for (const auto& child : children_) {
    out.push_back({child->spec.name, child->process->pid(), child->healthy,
                   child->process->exit_status(), child->num_restarts});
  }
  return out;
}

}  // namespace pdserve::launcher
