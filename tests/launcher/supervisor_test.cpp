#include "launcher/supervisor.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "launcher/port_picker.h"
#include "tests/launcher/test_util.h"

namespace pdserve::launcher {
namespace {

using testing::TempFile;
using namespace std::chrono_literals;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::vector<uint16_t>> p = pick_free_ports(3);
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    ports_ = *p;
  }

  // Server i of three ("a", "b", "c"), with extra test_health_server flags.
  ChildSpec server(size_t i, std::vector<std::string> flags = {}) const {
    ChildSpec spec;
    spec.name = std::string(1, static_cast<char>('a' + i));
    spec.argv = {TEST_HEALTH_SERVER,        "--name", spec.name,  "--port",
                 std::to_string(ports_[i]), "--log",  log_.path()};
    spec.argv.insert(spec.argv.end(), flags.begin(), flags.end());
    spec.health_host = "127.0.0.1";
    spec.health_port = ports_[i];
    return spec;
  }

  SupervisorOptions options() const {
    SupervisorOptions o;
    o.health_timeout = 10s;
    o.health_poll_interval = 20ms;
    o.health_request_timeout = 1s;
    o.stop_grace = 5s;
    o.out_sink = output_.fd();
    o.err_sink = output_.fd();
    o.handle_signals = false;
    return o;
  }

  std::vector<uint16_t> ports_;
  TempFile log_;
  TempFile output_;
};

TEST_F(SupervisorTest, LaunchesAllAndStopsThemInReverseOrder) {
  Supervisor sup(options());
  Status s = sup.start({server(0), server(1), server(2)});
  ASSERT_TRUE(s.ok()) << s.to_string();
  std::vector<ChildInfo> children = sup.children();
  ASSERT_EQ(children.size(), 3u);
  for (const ChildInfo& c : children) {
    EXPECT_TRUE(c.healthy) << c.name;
    EXPECT_FALSE(c.exit_status) << c.name;
  }
  sup.stop();
  sup.stop();  // twice is fine
  EXPECT_EQ(log_.read(),
            "a started\nb started\nc started\n"
            "c sigterm\nb sigterm\na sigterm\n");
  for (const ChildInfo& c : sup.children()) {
    ASSERT_TRUE(c.exit_status) << c.name;
    EXPECT_TRUE(c.exit_status->success()) << c.name << " " << c.exit_status->to_string();
    EXPECT_TRUE(testing::process_gone(c.pid));
  }
  std::string out = output_.read();
  EXPECT_NE(out.find("[b] b listening on " + std::to_string(ports_[1])), std::string::npos) << out;
  EXPECT_NE(out.find("[c] c to stderr"), std::string::npos) << out;
  EXPECT_EQ(sup.wait().code(), StatusCode::kFailedPrecondition);
}

bool wait_for_log(const TempFile& log, const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (log.read().find(text) == std::string::npos) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

TEST_F(SupervisorTest, WorkersWithoutOrderingLoadSideBySide) {
  Supervisor sup(options());
  ChildSpec a = server(0, {"--healthy-after-ms", "1000"});
  ChildSpec b = server(1, {"--healthy-after-ms", "1000"});
  b.after_previous_healthy = false;  // does not wait for a
  ChildSpec c = server(2);           // waits for both
  auto t0 = Clock::now();
  ASSERT_TRUE(sup.start({a, b, c}).ok());
  auto took = Clock::now() - t0;
  EXPECT_GE(took, 1000ms);
  EXPECT_LT(took, 1800ms);  // one at a time would take 2s
  // c logs its start just after it answers: wait for the line, bounded.
  ASSERT_TRUE(wait_for_log(log_, "c started", 10s)) << log_.read();
  std::string log = log_.read();  // a and b start side by side: either order
  EXPECT_TRUE(log == "a started\nb started\nc started\n" ||
              log == "b started\na started\nc started\n")
      << log;
}

TEST_F(SupervisorTest, ChildThatExitsFailsTheLaunchAndStopsTheOthers) {
  Supervisor sup(options());
  Status s = sup.start(
      {server(0),
       server(1, {"--healthy-after-ms", "100000", "--exit-after-ms", "200", "--exit-code", "7"}),
       server(2)});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  const std::string& m = s.message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_NE(m.find("b exited with code 7 before it was healthy"), std::string::npos) << m;
  EXPECT_NE(m.find("b exiting with 7 as told"), std::string::npos) << m;  // its last output
  std::vector<ChildInfo> children = sup.children();
  ASSERT_EQ(children.size(), 2u);  // c never started
  for (const ChildInfo& c : children) {
    ASSERT_TRUE(c.exit_status) << c.name;
    EXPECT_TRUE(testing::process_gone(c.pid));
  }
  EXPECT_TRUE(children[0].exit_status->success());  // a: stopped with SIGTERM
}

TEST_F(SupervisorTest, HealthTimeoutFailsTheLaunch) {
  SupervisorOptions o = options();
  o.health_timeout = 500ms;
  Supervisor sup(o);
  auto t0 = Clock::now();
  Status s = sup.start({server(0), server(1, {"--healthy-after-ms", "100000"}), server(2)});
  EXPECT_LT(Clock::now() - t0, 5s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  const std::string& m = s.message();
  EXPECT_NE(m.find("b not healthy after"), std::string::npos) << m;
  EXPECT_NE(m.find("HTTP 503"), std::string::npos) << m;
  EXPECT_NE(m.find("/health"), std::string::npos) << m;
  for (const ChildInfo& c : sup.children()) {
    ASSERT_TRUE(c.exit_status) << c.name;
    EXPECT_TRUE(testing::process_gone(c.pid));
  }
}

TEST_F(SupervisorTest, NothingListeningTimesOutNamingTheChild) {
  SupervisorOptions o = options();
  o.health_timeout = 300ms;
  Supervisor sup(o);
  ChildSpec quiet;
  quiet.name = "quiet";
  quiet.argv = {"/bin/sh", "-c", "echo loading; exec sleep 30"};
  quiet.health_host = "127.0.0.1";
  quiet.health_port = ports_[0];
  Status s = sup.start({quiet});
  ASSERT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(s.message().find("quiet not healthy"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("last output: loading"), std::string::npos) << s.message();
}

TEST_F(SupervisorTest, ChildThatDiesWhileRunningEndsWaitWithItsName) {
  Supervisor sup(options());
  ASSERT_TRUE(sup.start({server(0), server(1), server(2, {"--exit-after-ms", "800"})}).ok());
  auto t0 = Clock::now();
  Status s = sup.wait();
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("c exited with code 3 unexpectedly"), std::string::npos)
      << s.message();
  std::vector<ChildInfo> children = sup.children();
  for (const ChildInfo& c : children) {
    ASSERT_TRUE(c.exit_status) << c.name;
    EXPECT_TRUE(testing::process_gone(c.pid));
  }
  EXPECT_TRUE(children[0].exit_status->success());
  EXPECT_TRUE(children[1].exit_status->success());
}

TEST_F(SupervisorTest, ChildIgnoringSigtermIsKilledAfterTheGrace) {
  SupervisorOptions o = options();
  o.stop_grace = 300ms;
  Supervisor sup(o);
  ASSERT_TRUE(sup.start({server(0), server(1, {"--ignore-sigterm"}), server(2)}).ok());
  auto t0 = Clock::now();
  sup.stop();
  EXPECT_GE(Clock::now() - t0, 300ms);
  EXPECT_LT(Clock::now() - t0, 4s);
  std::vector<ChildInfo> children = sup.children();
  ASSERT_TRUE(children[1].exit_status);
  EXPECT_EQ(children[1].exit_status->term_signal, SIGKILL);
  EXPECT_TRUE(children[0].exit_status->success());
  EXPECT_TRUE(children[2].exit_status->success());
}

TEST_F(SupervisorTest, RejectsBadSpecs) {
  Supervisor empty(options());
  EXPECT_EQ(empty.start({}).code(), StatusCode::kInvalidArgument);
  Supervisor dup(options());
  ChildSpec a = server(0);
  EXPECT_EQ(dup.start({a, a}).code(), StatusCode::kInvalidArgument);
  Supervisor missing(options());
  ChildSpec m = server(0);
  m.argv = {"/nonexistent/pdserve"};
  Status s = missing.start({server(1), m});
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("a:"), std::string::npos) << s.message();
  for (const ChildInfo& c : missing.children()) EXPECT_TRUE(c.exit_status) << c.name;
}

// Runs a supervisor of three servers in a forked process; returns its pid
// and the servers' pids once all are healthy.
pid_t fork_supervisor(const std::vector<ChildSpec>& specs, SupervisorOptions o,
                      std::vector<pid_t>* pids) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    o.handle_signals = true;
    Supervisor sup(o);
    Status s = sup.start(specs);
    if (!s.ok()) ::_exit(2);
    for (const ChildInfo& c : sup.children()) {
      (void)!::write(fds[1], &c.pid, sizeof(c.pid));
    }
    ::close(fds[1]);
    s = sup.wait();
    ::_exit(s.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  for (size_t i = 0; i < specs.size(); ++i) {
    pid_t child = -1;
    if (::poll(&p, 1, 10'000) != 1 || ::read(fds[0], &child, sizeof(child)) != sizeof(child)) break;
    pids->push_back(child);
  }
  ::close(fds[0]);
  return pid;
}

TEST_F(SupervisorTest, SigtermToTheLauncherStopsEveryChild) {
  std::vector<pid_t> pids;
  pid_t launcher = fork_supervisor({server(0), server(1), server(2)}, options(), &pids);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  for (pid_t p : pids) EXPECT_FALSE(testing::process_gone(p));
  ::kill(launcher, SIGTERM);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value()) << "launcher did not stop";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (pid_t p : pids) EXPECT_TRUE(testing::process_gone(p)) << "orphan " << p;
  EXPECT_EQ(log_.read(),
            "a started\nb started\nc started\n"
            "c sigterm\nb sigterm\na sigterm\n");
}

TEST_F(SupervisorTest, SigintToTheLauncherStopsEveryChild) {
  std::vector<pid_t> pids;
  pid_t launcher = fork_supervisor({server(0), server(1), server(2)}, options(), &pids);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  ::kill(launcher, SIGINT);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (pid_t p : pids) EXPECT_TRUE(testing::process_gone(p)) << "orphan " << p;
}

// Polls the log until it holds `text`.

TEST_F(SupervisorTest, SignalDuringTheLaunchCancelsIt) {
  std::vector<ChildSpec> specs = {server(0), server(1, {"--healthy-after-ms", "100000"}),
                                  server(2)};
  SupervisorOptions o = options();
  o.handle_signals = true;
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    Supervisor sup(o);
    Status s = sup.start(specs);
    ::_exit(s.code() == StatusCode::kCancelled ? 0 : 1);
  }
  ASSERT_TRUE(wait_for_log(log_, "b started", 10s));
  ::kill(launcher, SIGTERM);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_EQ(log_.read(), "a started\nb started\nb sigterm\na sigterm\n");
}

TEST_F(SupervisorTest, SecondSignalSkipsTheGrace) {
  SupervisorOptions o = options();
  o.stop_grace = 30s;
  std::vector<pid_t> pids;
  pid_t launcher =
      fork_supervisor({server(0), server(1), server(2, {"--ignore-sigterm"})}, o, &pids);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  auto t0 = Clock::now();
  ::kill(launcher, SIGTERM);
  std::this_thread::sleep_for(200ms);  // c ignores it; the supervisor waits its grace
  EXPECT_FALSE(testing::process_gone(pids[2]));
  ::kill(launcher, SIGINT);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_LT(Clock::now() - t0, 5s);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (pid_t p : pids) EXPECT_TRUE(testing::process_gone(p)) << "orphan " << p;
}

TEST_F(SupervisorTest, ClosedOutputDoesNotKillTheLauncher) {
  int dead[2];
  ASSERT_EQ(::pipe(dead), 0);
  ::close(dead[0]);  // every prefixed line now meets EPIPE (and SIGPIPE, were it not ignored)
  SupervisorOptions o = options();
  o.out_sink = dead[1];
  o.err_sink = dead[1];
  std::vector<pid_t> pids;
  pid_t launcher = fork_supervisor({server(0), server(1), server(2)}, o, &pids);
  ::close(dead[1]);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  ::kill(launcher, SIGTERM);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (pid_t p : pids) EXPECT_TRUE(testing::process_gone(p)) << "orphan " << p;
}

TEST_F(SupervisorTest, SigkillToTheLauncherLeavesNoOrphans) {
  std::vector<pid_t> pids;
  pid_t launcher =
      fork_supervisor({server(0), server(1, {"--ignore-sigterm"}), server(2)}, options(), &pids);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  ::kill(launcher, SIGKILL);
  ASSERT_TRUE(testing::wait_child(launcher, 10s).has_value());
  for (pid_t p : pids) EXPECT_TRUE(testing::wait_gone(p, 5s)) << "orphan " << p;
}

SupervisorOptions with_restarts(SupervisorOptions o) {
  o.restart.enabled = true;
  o.restart.initial = 50ms;
  o.restart.max = 400ms;
  o.restart.role_down_limit = 1500ms;
  return o;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// kill -9 of one child: it is started again while the others run on (same
// pids), and the launcher still stops everything on SIGTERM.
TEST_F(SupervisorTest, KilledChildIsRestartedWhileTheOthersRunOn) {
  std::vector<pid_t> pids;
  pid_t launcher =
      fork_supervisor({server(0), server(1), server(2)}, with_restarts(options()), &pids);
  ASSERT_GT(launcher, 0);
  ASSERT_EQ(pids.size(), 3u);
  ::kill(pids[1], SIGKILL);
  const auto until = Clock::now() + 10s;
  while (count(log_.read(), "b started") < 2 && Clock::now() < until)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count(log_.read(), "b started"), 2u) << log_.read();
  EXPECT_FALSE(testing::process_gone(pids[0]));
  EXPECT_FALSE(testing::process_gone(pids[2]));
  ::kill(launcher, SIGTERM);
  std::optional<int> status = testing::wait_child(launcher, 20s);
  ASSERT_TRUE(status.has_value()) << "launcher did not stop";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  EXPECT_EQ(count(log_.read(), "b sigterm"), 1u) << log_.read();
  for (pid_t p : pids) EXPECT_TRUE(testing::process_gone(p)) << "orphan " << p;
}

// A child that cannot come back: restarted with growing delays, and once its
// role has been down for role_down_limit, wait() stops everything.
TEST_F(SupervisorTest, RoleDownPastTheLimitStopsTheCluster) {
  TempFile broken;  // exists: a restarted "c" exits at once
  ChildSpec c = server(2, {"--exit-if-exists", broken.path() + ".now"});
  Supervisor sup(with_restarts(options()));
  ASSERT_TRUE(sup.start({server(0), server(1), c}).ok());
  { std::ofstream(broken.path() + ".now") << "x"; }
  ASSERT_TRUE(sup.children()[2].pid > 0);
  ::kill(sup.children()[2].pid, SIGKILL);
  const auto t0 = Clock::now();
  Status s = sup.wait();
  const auto took = Clock::now() - t0;
  std::remove((broken.path() + ".now").c_str());
  EXPECT_EQ(s.code(), StatusCode::kAborted);
  EXPECT_NE(s.message().find("every c child has been down for"), std::string::npos) << s.message();
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 6s);
  // 50, 100, 200, 400, 400 ms ...: several attempts, each logged nowhere (it
  // exits before it logs), and the others were never touched.
  EXPECT_GE(sup.children()[2].num_restarts, 3);
  EXPECT_EQ(count(log_.read(), "a started"), 1u);
}

TEST(RestartBackoffTest, DoublesUpToTheMaxAndStartsOverAfterAStableRun) {
  RestartOptions o;
  o.initial = 100ms;
  o.max = 1s;
  o.stable_after = 30s;
  RestartBackoff b(o);
  std::vector<std::chrono::milliseconds> got;
  for (int i = 0; i < 6; ++i) got.push_back(b.on_exit(1s));
  EXPECT_EQ(got, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 800ms, 1s, 1s}));
  EXPECT_EQ(b.on_exit(31s), 100ms);
  EXPECT_EQ(b.on_exit(0s), 200ms);
}

}  // namespace
}  // namespace pdserve::launcher
