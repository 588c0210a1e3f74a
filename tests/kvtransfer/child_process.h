// A forked child process and a length-prefixed message pipe to it, for the
// two-process kvtransfer tests. Every read has a deadline; the destructor
// SIGKILLs and reaps the child, so a failing test never leaves one behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace pdserve::kvtransfer::testing {

// One message: 8-byte length + bytes. false on a broken pipe.
bool send_message(int fd, const std::string& msg);
// nullopt on EOF, error or deadline.
std::optional<std::string> recv_message(int fd, std::chrono::milliseconds deadline);

class ChildProcess {
 public:
  // Forks; the child runs body(read_fd, write_fd) and _exits with its result.
  explicit ChildProcess(const std::function<int(int, int)>& body);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool send(const std::string& msg) { return send_message(to_child_, msg); }
  std::optional<std::string> recv(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    return recv_message(from_child_, deadline);
  }
  // Sends and waits for the reply.
  std::optional<std::string> call(const std::string& msg,
                                  std::chrono::milliseconds deadline = std::chrono::seconds(10));
  void kill_now();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
};

}  // namespace pdserve::kvtransfer::testing
