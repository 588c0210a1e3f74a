// Loopback ports for the children of `pdserve serve`.
//
//   Result<std::vector<uint16_t>> p = pick_free_ports(3);          // OS-chosen
//   Result<std::vector<uint16_t>> q = ports_from_base(9000, 3);    // 9000, 9001, 9002
//
// pick_free_ports binds `count` sockets to port 0 at once (so the ports are
// distinct), reads the ports and closes them. Between that close and the
// child's bind another process may take a port: the child then fails to
// bind and the launch fails naming it; retrying picks new ports.
//
// Errors: kInvalidArgument for a host that is not an IPv4/IPv6 literal or a
// base range past 65535; kUnavailable when a socket cannot be bound (for
// ports_from_base: the port in use, named).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace pdserve::launcher {

Result<std::vector<uint16_t>> pick_free_ports(size_t count, const std::string& host = "127.0.0.1");

// base, base + 1, ..., base + count - 1, each checked to be bindable now.
Result<std::vector<uint16_t>> ports_from_base(uint16_t base, size_t count,
                                              const std::string& host = "127.0.0.1");

}  // namespace pdserve::launcher
