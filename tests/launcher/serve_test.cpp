#include "launcher/serve.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "tests/launcher/test_util.h"

namespace pdserve::launcher {
namespace {

using testing::TempFile;
using namespace std::chrono_literals;

// Reads one line from fd within the timeout ("" when none came).
std::string read_line(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1) continue;
    char c;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line.push_back(c);
  }
  return line;
}

TEST(ServeTest, RunsTheRolesUntilSigterm) {
  TempFile log, output;
  ServeRun run;
  run.serve.pdserve_binary = TEST_HEALTH_SERVER;  // answers as prefill, decode and router
  run.serve.model_dir = "/models/none";
  run.serve.port = 0;
  run.serve.cluster_token = "tok123";
  run.serve.extra_worker_args = {"--log", log.path()};
  run.serve.extra_router_args = {"--log", log.path()};
  run.supervisor.health_poll_interval = 20ms;
  run.supervisor.health_timeout = 10s;
  run.supervisor.out_sink = output.fd();
  run.supervisor.err_sink = output.fd();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  run.ready_fd = fds[1];
  pid_t launcher = ::fork();
  ASSERT_GE(launcher, 0);
  if (launcher == 0) {
    ::close(fds[0]);
    Status s = run_serve(run);
    ::_exit(s.ok() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string ready = read_line(fds[0], 10s);
  ::close(fds[0]);
  EXPECT_EQ(ready.rfind("pdserve is ready at http://127.0.0.1:", 0), 0u) << ready;
  EXPECT_NE(ready.find("(1 prefill, 1 decode)"), std::string::npos) << ready;
  ::kill(launcher, SIGTERM);
  std::optional<int> status = testing::wait_child(launcher, 10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << output.read();
  std::string text = log.read();
  // Workers in parallel (either order), the router last; stopped in reverse.
  EXPECT_NE(text.find("prefill started token=tok123 nvls=0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("decode started token=tok123 nvls=0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("router started token=tok123 nvls=0\nrouter sigterm\ndecode sigterm\n"
                      "prefill sigterm\n"),
            std::string::npos)
      << text;
}

TEST(ServeTest, BadOptionsFailBeforeAnythingStarts) {
  ServeRun run;
  run.serve.pdserve_binary = TEST_HEALTH_SERVER;
  run.serve.model_dir = "";
  run.supervisor.handle_signals = false;
  EXPECT_EQ(run_serve(run).code(), StatusCode::kInvalidArgument);
}

TEST(ServeTest, CurrentExecutableIsThisTest) {
  Result<std::string> self = current_executable();
  ASSERT_TRUE(self.ok());
  EXPECT_NE(self->find("launcher_test"), std::string::npos) << *self;
}

}  // namespace
}  // namespace pdserve::launcher
