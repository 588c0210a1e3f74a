#include "launcher/port_picker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace pdserve::launcher {
namespace {

TEST(PortPickerTest, PicksDistinctFreePorts) {
  Result<std::vector<uint16_t>> ports = pick_free_ports(5);
  ASSERT_TRUE(ports.ok()) << ports.status().to_string();
  ASSERT_EQ(ports->size(), 5u);
  std::set<uint16_t> unique(ports->begin(), ports->end());
  EXPECT_EQ(unique.size(), 5u);
  for (uint16_t p : *ports) {
    EXPECT_NE(p, 0);
    EXPECT_TRUE(ports_from_base(p, 1).ok()) << p;  // closed again: bindable
  }
  EXPECT_TRUE(pick_free_ports(0).ok());
}

TEST(PortPickerTest, Ipv6Loopback) {
  Result<std::vector<uint16_t>> ports = pick_free_ports(1, "::1");
  if (!ports.ok()) GTEST_SKIP() << "no IPv6 loopback: " << ports.status().message();
  EXPECT_NE((*ports)[0], 0);
}

TEST(PortPickerTest, BaseRangeNamesAPortInUse) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  uint16_t busy = ntohs(addr.sin_port);

  Result<std::vector<uint16_t>> r = ports_from_base(busy, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find(std::to_string(busy)), std::string::npos);
  ::close(fd);
  Result<std::vector<uint16_t>> again = ports_from_base(busy, 1);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*again, std::vector<uint16_t>{busy});
}

TEST(PortPickerTest, RejectsBadInput) {
  EXPECT_EQ(ports_from_base(65535, 2).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ports_from_base(0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pick_free_ports(1, "localhost").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdserve::launcher
