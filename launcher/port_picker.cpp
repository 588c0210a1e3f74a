#include "launcher/port_picker.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace pdserve::launcher {
namespace {

// A bound TCP socket; closes on destruction.
class BoundSocket {
 public:
  BoundSocket() = default;
  BoundSocket(BoundSocket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  BoundSocket& operator=(BoundSocket&&) = delete;
  ~BoundSocket() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Binds host:port (port 0: the OS picks); the bound port, or an error.
  Result<uint16_t> bind(const std::string& host, uint16_t port) {
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
      v4->sin_family = AF_INET;
      v4->sin_port = htons(port);
      len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
      v6->sin6_family = AF_INET6;
      v6->sin6_port = htons(port);
      len = sizeof(sockaddr_in6);
    } else {
      return invalid_argument("'" + host + "' is not an IP address");
    }
    fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return unavailable(std::string("socket: ") + std::strerror(errno));
    // As the servers do (Asio's reuse_address), so a port in TIME_WAIT counts as free.
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
      return unavailable("cannot bind " + host + ":" + std::to_string(port) + ": " +
                         std::strerror(errno));
    }
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return unavailable(std::string("getsockname: ") + std::strerror(errno));
    }
    return ntohs(addr.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  }

 private:
  int fd_ = -1;
};

}  // namespace

Result<std::vector<uint16_t>> pick_free_ports(size_t count, const std::string& host) {
  std::vector<BoundSocket> sockets;  // all held open until every port is known
  std::vector<uint16_t> ports;
  sockets.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    sockets.emplace_back();
    PD_ASSIGN_OR_RETURN(uint16_t port, sockets.back().bind(host, 0));
    ports.push_back(port);
  }
  return ports;
}

Result<std::vector<uint16_t>> ports_from_base(uint16_t base, size_t count,
                                              const std::string& host) {
  if (base == 0) return invalid_argument("base port must not be 0");
  if (base + count - 1 > 65535) {
    return invalid_argument("ports " + std::to_string(base) + ".." +
                            std::to_string(base + count - 1) + " run past 65535");
  }
  std::vector<uint16_t> ports;
  for (size_t i = 0; i < count; ++i) {
    BoundSocket socket;
    PD_ASSIGN_OR_RETURN(uint16_t port, socket.bind(host, static_cast<uint16_t>(base + i)));
    ports.push_back(port);
  }
  return ports;
}

}  // namespace pdserve::launcher
