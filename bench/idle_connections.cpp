#include "bench/idle_connections.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pdserve::bench {
namespace {

constexpr size_t kMaxAnswerBytes = 64 << 10;

// Reads one answer with a Content-Length body; false on error or EOF.
bool read_answer(int fd) {
  std::string got;
  char buf[4096];
  for (;;) {
    const size_t head_end = got.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      size_t len = 0;
      const size_t cl = got.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) len = std::stoul(got.substr(cl + 16));
      if (got.size() >= head_end + 4 + len) return true;
    }
    if (got.size() > kMaxAnswerBytes) return false;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    got.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

IdleConnections::~IdleConnections() {
  for (int fd : fds_) ::close(fd);
}

Status IdleConnections::open(const std::string& host, uint16_t port, const std::string& path,
                             int n) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return invalid_argument("idle connections: " + host + " is not an IPv4 address");
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
  for (int i = 0; i < n; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return unavailable("idle connection " + std::to_string(i) + ": " + strerror(errno));
    fds_.push_back(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size()) ||
        !read_answer(fd))
      return unavailable("idle connection " + std::to_string(i) + " to " + host + ":" +
                         std::to_string(port) + " failed: " + strerror(errno));
  }
  return ok_status();
}

}  // namespace pdserve::bench
