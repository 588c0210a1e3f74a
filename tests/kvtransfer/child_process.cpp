#include "tests/kvtransfer/child_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace pdserve::kvtransfer::testing {
namespace {

bool write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool read_all(int fd, char* p, size_t n, std::chrono::steady_clock::time_point until) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

}  // namespace

bool send_message(int fd, const std::string& msg) {
  uint64_t len = msg.size();
  return write_all(fd, reinterpret_cast<const char*>(&len), sizeof(len)) &&
         write_all(fd, msg.data(), msg.size());
}

std::optional<std::string> recv_message(int fd, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  uint64_t len = 0;
  if (!read_all(fd, reinterpret_cast<char*>(&len), sizeof(len), until)) return std::nullopt;
  if (len > (64u << 20)) return std::nullopt;
  std::string msg(len, '\0');
  if (!read_all(fd, msg.data(), len, until)) return std::nullopt;
  return msg;
}

ChildProcess::ChildProcess(const std::function<int(int, int)>& body) {
  int down[2], up[2];
  if (::pipe(down) != 0 || ::pipe(up) != 0) return;
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(down[1]);
    ::close(up[0]);
    int rc = body(down[0], up[1]);
    ::_exit(rc);
  }
  ::close(down[0]);
  ::close(up[1]);
  to_child_ = down[1];
  from_child_ = up[0];
  ::signal(SIGPIPE, SIG_IGN);
}

ChildProcess::~ChildProcess() {
  kill_now();
  if (to_child_ >= 0) ::close(to_child_);
  if (from_child_ >= 0) ::close(from_child_);
}

std::optional<std::string> ChildProcess::call(const std::string& msg,
                                              std::chrono::milliseconds deadline) {
  if (!send(msg)) return std::nullopt;
  return recv(deadline);
}

void ChildProcess::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace pdserve::kvtransfer::testing
