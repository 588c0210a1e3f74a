// The tcp backend's receiver as an attacker meets it: raw sockets that skip
// or fake the handshake (peer_auth.h, tcp_wire.h), and an authenticated
// sender that floods notifications.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "kvtransfer/peer_auth.h"
#include "kvtransfer/tcp_wire.h"

namespace pdserve::kvtransfer {
namespace {

using tcp::FrameHeader;
using tcp::FrameType;

constexpr char kToken[] = "tcp-auth-token";
constexpr char kCompat[] = "compat-tcp-auth";

std::unique_ptr<Agent> make(const std::string& name, const std::string& token = kToken) {
  AgentOptions o;
  o.backend = BackendKind::kTcp;
  o.name = name;
  o.compat_key = kCompat;
  o.cluster_token = token;
  auto agent = Agent::create(o);
  EXPECT_TRUE(agent.ok()) << agent.status().to_string();
  return agent.ok() ? std::move(agent).value() : nullptr;
}

// A plain blocking socket to the agent's listener.
class RawPeer {
 public:
  explicit RawPeer(const Agent& agent) {
    const std::string address = AgentMetadata::parse(agent.metadata()).value().address;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(address.find(':') + 1))));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  }
  ~RawPeer() { ::close(fd_); }
  bool connected() const { return connected_; }

  bool send(FrameType type, const std::string& payload, uint64_t region = 0, uint64_t offset = 0,
            uint64_t epoch = 0) {
    FrameHeader h = tcp::make_header(type, 1, 0);
    h.region = region;
    h.offset = offset;
    h.epoch = epoch;
    const std::string frame = tcp::control_frame(h, payload);
    return ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(frame.size());
  }
  // The next frame, or nullopt on EOF / error / `deadline`.
  std::optional<std::pair<FrameHeader, std::string>> recv(
      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    FrameHeader h;
    if (!read_exact(reinterpret_cast<char*>(&h), sizeof(h), deadline) || h.len > 1 << 16) {
      return std::nullopt;
    }
    std::string payload(h.len, '\0');
    if (!read_exact(payload.data(), payload.size(), deadline)) return std::nullopt;
    return std::make_pair(h, payload);
  }
  // True when the peer closed the connection within `deadline`.
  bool closed_within(std::chrono::milliseconds deadline) {
    char c;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(deadline.count())) == 1 && ::recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  bool read_exact(char* out, size_t n, std::chrono::milliseconds deadline) {
    for (size_t got = 0; got < n;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(deadline.count())) != 1) return false;
      ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
};

class TcpAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    receiver_ = make("receiver");
    ASSERT_TRUE(receiver_);
    region_ = receiver_->register_region(dst_.data(), dst_.size(), MemoryKind::kHost).value();
    ASSERT_TRUE(receiver_->grant(5, {{region_, 0, dst_.size()}}, GrantScope::kFirstPeer).ok());
  }
  // HELLO as `name` with a fresh nonce; checks the CHALLENGE, in which the
  // receiver proves the token, and returns both nonces.
  void hello(RawPeer& raw, const std::string& name, std::string* nonce,
             std::string* receiver_nonce) {
    ASSERT_TRUE(raw.connected());
    *nonce = make_nonce().value();
    ASSERT_TRUE(raw.send(FrameType::kHello, *nonce + name));
    auto challenge = raw.recv();
    ASSERT_TRUE(challenge.has_value());
    ASSERT_EQ(challenge->first.type, static_cast<uint16_t>(FrameType::kChallenge));
    ASSERT_EQ(challenge->second.size(), kNonceLen + kProofLen);
    *receiver_nonce = challenge->second.substr(0, kNonceLen);
    EXPECT_TRUE(proofs_equal(challenge->second.substr(kNonceLen),
                             receiver_proof(kToken, *nonce, *receiver_nonce)));
  }
  bool untouched() const {
    return std::all_of(dst_.begin(), dst_.end(), [](char c) { return c == 0; });
  }
  std::unique_ptr<Agent> receiver_;
  std::vector<char> dst_ = std::vector<char>(1 << 16, 0);
  uint64_t region_ = 0;
};

TEST_F(TcpAuthTest, DataWithoutHandshakeIsDroppedAndCounted) {
  RawPeer raw(*receiver_);
  ASSERT_TRUE(raw.connected());
  raw.send(FrameType::kData, std::string(64, 'x'), region_, 0, 5);
  EXPECT_TRUE(raw.closed_within(std::chrono::seconds(5)));
  EXPECT_TRUE(untouched());
  EXPECT_EQ(receiver_->peers_refused(), 1u);
}

TEST_F(TcpAuthTest, WrongProofIsRefusedWithoutQuotingSecrets) {
  RawPeer raw(*receiver_);
  std::string nonce, receiver_nonce;
  ASSERT_NO_FATAL_FAILURE(hello(raw, "intruder", &nonce, &receiver_nonce));
  // A sender that guesses the token: its proof does not match.
  ASSERT_TRUE(
      raw.send(FrameType::kAuth,
               sender_proof("guess", receiver_nonce, nonce, "intruder", kCompat) + kCompat));
  auto refused = raw.recv();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.type, static_cast<uint16_t>(FrameType::kHelloRefused));
  EXPECT_EQ(refused->second, "authentication failed");
  EXPECT_TRUE(raw.closed_within(std::chrono::seconds(5)));
  EXPECT_TRUE(untouched());
  EXPECT_EQ(receiver_->peers_refused(), 1u);
}

TEST_F(TcpAuthTest, RightTokenWrongCompatKeyIsRefusedWithoutQuotingEitherKey) {
  RawPeer raw(*receiver_);
  std::string nonce, receiver_nonce;
  ASSERT_NO_FATAL_FAILURE(hello(raw, "other-model", &nonce, &receiver_nonce));
  ASSERT_TRUE(raw.send(
      FrameType::kAuth,
      sender_proof(kToken, receiver_nonce, nonce, "other-model", "their-compat") + "their-compat"));
  auto refused = raw.recv();
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->first.type, static_cast<uint16_t>(FrameType::kHelloRefused));
  EXPECT_EQ(refused->second.find(kCompat), std::string::npos) << refused->second;
  EXPECT_EQ(refused->second.find("their-compat"), std::string::npos) << refused->second;
}

TEST_F(TcpAuthTest, SilentConnectionIsClosedAfterTheHandshakeTimeout) {
  RawPeer raw(*receiver_);
  ASSERT_TRUE(raw.connected());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.closed_within(tcp::kHandshakeTimeout + std::chrono::seconds(2)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, tcp::kHandshakeTimeout);
}

TEST_F(TcpAuthTest, SenderRefusesAReceiverThatDoesNotKnowTheToken) {
  auto sender = make("sender", "another-token");
  ASSERT_TRUE(sender);
  auto peer = sender->connect(receiver_->metadata());
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated) << peer.status().to_string();
  EXPECT_EQ(peer.status().message().find("another-token"), std::string::npos);
}

// An authenticated sender that floods notifications of its granted epoch: the
// receiver queues at most kMaxQueuedPerPeer of them, then drops the
// connection; a second sender is served throughout.
TEST_F(TcpAuthTest, NotificationFloodIsBoundedAndDropped) {
  auto flooder = make("flooder"), honest = make("honest");
  ASSERT_TRUE(flooder && honest);
  std::vector<char> src(64, 1);
  const uint64_t fs = flooder->register_region(src.data(), src.size(), MemoryKind::kHost).value();
  const uint64_t hs = honest->register_region(src.data(), src.size(), MemoryKind::kHost).value();
  const uint64_t fp = flooder->connect(receiver_->metadata()).value();
  const uint64_t hp = honest->connect(receiver_->metadata()).value();
  ASSERT_TRUE(receiver_->grant(6, {{region_, 100, 1}}, GrantScope::kFirstPeer).ok());
  const auto t0 = std::chrono::steady_clock::now();
  const clock_t cpu0 = std::clock();
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < 3 * kMaxQueuedPerPeer; ++i) {
    auto id = flooder->post_write(fp, {{fs, 0, region_, 0, 1}}, "flood", 5);
    if (!id.ok()) break;  // the connection is gone
    ids.push_back(*id);
  }
  // Every flood transfer ends (most fail once the connection is dropped),
  // all within one deadline.
  const auto deadline = t0 + std::chrono::seconds(20);
  size_t failed = 0;
  for (uint64_t id : ids) {
    const auto left = std::max(std::chrono::milliseconds(0),
                               std::chrono::duration_cast<std::chrono::milliseconds>(
                                   deadline - std::chrono::steady_clock::now()));
    failed += flooder->wait(id, left).ok() ? 0 : 1;
  }
  EXPECT_GT(failed, 0u);
  EXPECT_EQ(receiver_->peers_refused(), 1u);
  auto h = honest->post_write(hp, {{hs, 0, region_, 100, 1}}, "honest", 6);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(honest->wait(*h, std::chrono::seconds(10)).ok());
  const std::vector<Notification> queued = receiver_->take_notifications();
  EXPECT_LE(queued.size(), kMaxQueuedPerPeer + 1);
  EXPECT_EQ(queued.back().payload, "honest");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_LT(static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC, 20.0);
}

}  // namespace
}  // namespace pdserve::kvtransfer
