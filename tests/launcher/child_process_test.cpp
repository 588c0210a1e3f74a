#include "launcher/child_process.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "tests/launcher/test_util.h"

namespace pdserve::launcher {
namespace {

using testing::TempFile;
using namespace std::chrono_literals;

ChildOptions sh(std::string name, std::string script) {
  ChildOptions o;
  o.name = std::move(name);
  o.argv = {"/bin/sh", "-c", std::move(script)};
  return o;
}

std::unique_ptr<ChildProcess> must_spawn(ChildOptions o) {
  Result<std::unique_ptr<ChildProcess>> c = ChildProcess::spawn(std::move(o));
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(ChildProcessTest, ReportsExitCodes) {
  auto c = must_spawn(sh("c", "exit 3"));
  ASSERT_TRUE(c);
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_TRUE(s->exited);
  EXPECT_EQ(s->code, 3);
  EXPECT_FALSE(s->success());
  EXPECT_EQ(s->to_string(), "exited with code 3");
  EXPECT_TRUE(c->reaped());
  EXPECT_EQ(c->signal(SIGTERM).code(), StatusCode::kFailedPrecondition);

  auto ok = must_spawn(sh("ok", "true"));
  ASSERT_TRUE(ok);
  ASSERT_TRUE(ok->wait_for_exit(Clock::now() + 5s).ok());
  EXPECT_TRUE(ok->exit_status()->success());
}

TEST(ChildProcessTest, ReportsDeathBySignal) {
  auto c = must_spawn(sh("c", "kill -SEGV $$"));
  ASSERT_TRUE(c);
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->exited);
  EXPECT_EQ(s->term_signal, SIGSEGV);
  EXPECT_EQ(s->to_string(), "killed by signal 11 (SIGSEGV)");
}

TEST(ChildProcessTest, PrefixesEachLineWithTheName) {
  TempFile out, err;
  ChildOptions o = sh("decode-0", "echo one; echo two >&2; echo three; printf partial");
  o.out_sink = out.fd();
  o.err_sink = err.fd();
  o.num_tail_lines = 3;
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->wait_for_exit(Clock::now() + 5s).ok());
  EXPECT_EQ(out.read(), "[decode-0] one\n[decode-0] three\n[decode-0] partial\n");
  EXPECT_EQ(err.read(), "[decode-0] two\n");
  std::vector<std::string> tail = c->tail();
  ASSERT_EQ(tail.size(), 3u);  // of four lines, the last three
  EXPECT_EQ(tail.back(), "partial");
}

TEST(ChildProcessTest, CutsVeryLongLines) {
  TempFile out;
  ChildOptions o = sh("c", "head -c 40000 /dev/zero | tr '\\0' x");
  o.out_sink = out.fd();
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->wait_for_exit(Clock::now() + 5s).ok());
  std::string text = out.read();
  size_t lines = 0;
  for (char ch : text) lines += ch == '\n';
  EXPECT_EQ(lines, 3u);  // 16 KiB + 16 KiB + the rest
  EXPECT_EQ(text.size(), 40000u + 3 * std::string("[c] \n").size());
}

TEST(ChildProcessTest, AddsAndReplacesEnvironment) {
  TempFile out;
  ChildOptions o = sh("c", "echo \"$PDSERVE_TEST_A/$HOME\"");
  o.env = {{"PDSERVE_TEST_A", "alpha"}, {"HOME", "/nowhere"}};
  o.out_sink = out.fd();
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->wait_for_exit(Clock::now() + 5s).ok());
  EXPECT_EQ(out.read(), "[c] alpha//nowhere\n");
}

TEST(ChildProcessTest, InheritModeKeepsNoTail) {
  ChildOptions o = sh("c", "exit 0");
  o.output = OutputMode::kInherit;
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->wait_for_exit(Clock::now() + 5s).ok());
  EXPECT_TRUE(c->tail().empty());
}

TEST(ChildProcessTest, LeadsItsOwnSessionAndProcessGroup) {
  auto c = must_spawn(sh("c", "exec sleep 30"));
  ASSERT_TRUE(c);
  EXPECT_EQ(::getpgid(c->pid()), c->pid());
  EXPECT_NE(::getpgid(c->pid()), ::getpgid(0));
  EXPECT_EQ(::getsid(c->pid()), c->pid());
  EXPECT_NE(::getsid(c->pid()), ::getsid(0));
}

TEST(ChildProcessTest, SigtermStopsAndDeadlineBoundsTheWait) {
  auto c = must_spawn(sh("c", "exec sleep 30"));
  ASSERT_TRUE(c);
  Result<ExitStatus> early = c->wait_for_exit(Clock::now() + 50ms);
  EXPECT_EQ(early.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(c->try_wait());
  ASSERT_TRUE(c->signal(SIGTERM).ok());
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->term_signal, SIGTERM);
}

TEST(ChildProcessTest, KillsAChildThatIgnoresSigtermAfterTheGrace) {
  TempFile out;
  ChildOptions o = sh("stubborn", "trap '' TERM; echo ready; while true; do sleep 0.05; done");
  o.out_sink = out.fd();
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  // The trap must be set before SIGTERM is sent.
  for (auto deadline = Clock::now() + 5s; out.read().empty() && Clock::now() < deadline;) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(c->signal(SIGTERM).ok());
  auto t0 = Clock::now();
  EXPECT_EQ(c->wait_for_exit(Clock::now() + 300ms).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GE(Clock::now() - t0, 300ms);
  c->kill();
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->term_signal, SIGKILL);
  c->kill();  // reaped: nothing happens
}

TEST(ChildProcessTest, GrandchildDoesNotOutliveOrHoldTheWait) {
  TempFile out;
  ChildOptions o = sh("c", "sleep 30 & echo $!; exit 0");
  o.out_sink = out.fd();
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  auto t0 = Clock::now();
  ASSERT_TRUE(c->wait_for_exit(Clock::now() + 5s).ok());
  EXPECT_LT(Clock::now() - t0, 2s);
  std::string text = out.read();  // "[c] PID\n"
  ASSERT_GT(text.size(), 5u);
  pid_t grandchild = std::stoi(text.substr(4));
  EXPECT_TRUE(testing::wait_gone(grandchild, 5s));
}

TEST(ChildProcessTest, ChildReapedBySomeoneElseCountsAsGone) {
  auto c = must_spawn(sh("c", "exit 0"));
  ASSERT_TRUE(c);
  int status = 0;
  ASSERT_EQ(::waitpid(c->pid(), &status, 0), c->pid());  // a stray reaper
  auto t0 = Clock::now();
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  EXPECT_LT(Clock::now() - t0, 1s);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->success());
  EXPECT_EQ(s->to_string(), "ended with an unknown status");
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto c = must_spawn(sh("c", "exec sleep 30"));
    ASSERT_TRUE(c);
    pid = c->pid();
  }
  EXPECT_TRUE(testing::process_gone(pid));
}

TEST(ChildProcessTest, DiesWithTheLauncher) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    ::close(fds[0]);
    auto c = ChildProcess::spawn(sh("c", "exec sleep 30"));
    pid_t pid = c.ok() ? (*c)->pid() : -1;
    (void)!::write(fds[1], &pid, sizeof(pid));
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t child = -1;
  ASSERT_EQ(::read(fds[0], &child, sizeof(child)), static_cast<ssize_t>(sizeof(child)));
  ::close(fds[0]);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(testing::process_gone(child));
  ::kill(launcher, SIGKILL);
  ASSERT_TRUE(testing::wait_child(launcher, 5s).has_value());
  EXPECT_TRUE(testing::wait_gone(child, 5s)) << "orphan " << child << " still running";
}

TEST(ChildProcessTest, FailsClearlyWhenTheProgramCannotRun) {
  ChildOptions a;
  a.name = "a";
  a.argv = {"/nonexistent/pdserve"};
  EXPECT_EQ(ChildProcess::spawn(a).status().code(), StatusCode::kNotFound);
  a.argv = {"pdserve-no-such-command-anywhere"};
  EXPECT_EQ(ChildProcess::spawn(a).status().code(), StatusCode::kNotFound);
  a.argv = {};
  EXPECT_EQ(ChildProcess::spawn(a).status().code(), StatusCode::kInvalidArgument);

  TempFile junk;  // executable, but neither ELF nor script: execve says ENOEXEC
  ASSERT_EQ(::write(junk.fd(), "\x01\x02\x03\x04", 4), 4);
  ASSERT_EQ(::chmod(junk.path().c_str(), 0700), 0);
  a.argv = {junk.path()};
  Result<std::unique_ptr<ChildProcess>> c = ChildProcess::spawn(a);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInternal);
  EXPECT_NE(c.status().message().find("exec"), std::string::npos) << c.status().message();
}

TEST(ChildProcessTest, FindsProgramsInPath) {
  ChildOptions o;
  o.name = "c";
  o.argv = {"true"};
  auto c = must_spawn(std::move(o));
  ASSERT_TRUE(c);
  Result<ExitStatus> s = c->wait_for_exit(Clock::now() + 5s);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->success());
}

}  // namespace
}  // namespace pdserve::launcher
