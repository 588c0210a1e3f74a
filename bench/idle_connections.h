// Kept-alive connections that sit idle: each one connects to host:port,
// sends one `GET path` and reads the whole answer, then stays open doing
// nothing, as a client between requests does. For measuring what an idle
// connection costs a server (`pdserve bench router`). Blocking, plain
// sockets; closed on destruction. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace pdserve::bench {

class IdleConnections {
 public:
  IdleConnections() = default;
  ~IdleConnections();
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;

  // Opens `n` more; kUnavailable (naming the one that failed) when a connect,
  // the request or its answer fails (the ones opened stay open).
  Status open(const std::string& host, uint16_t port, const std::string& path, int n);
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

}  // namespace pdserve::bench
