#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "kvtransfer/agent.h"
#include "kvtransfer/agent_core.h"

namespace pdserve::kvtransfer {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<Agent> make(const std::string& name, const std::string& compat = "k",
                            int fail_every_n = 0, const std::string& token = "secret") {
  AgentOptions o;
  o.backend = BackendKind::kLocal;
  o.name = name;
  o.compat_key = compat;
  o.cluster_token = token;
  o.fail_every_n = fail_every_n;
  auto agent = Agent::create(o);
  EXPECT_TRUE(agent.ok()) << agent.status().to_string();
  return std::move(agent).value();
}

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = make("a");
    b_ = make("b");
    src_.resize(1 << 16);
    std::iota(src_.begin(), src_.end(), 0);
    dst_.assign(1 << 16, 0);
    src_id_ = a_->register_region(src_.data(), src_.size(), MemoryKind::kHost).value();
    dst_id_ = b_->register_region(dst_.data(), dst_.size(), MemoryKind::kHost).value();
    peer_ = a_->connect(b_->metadata()).value();
    for (uint64_t epoch = 1; epoch <= 9; ++epoch) {
      ASSERT_TRUE(b_->grant(epoch, {{dst_id_, 0, dst_.size()}}, GrantScope::kFirstPeer).ok());
    }
  }
  std::unique_ptr<Agent> a_, b_;
  std::vector<unsigned char> src_, dst_;
  uint64_t src_id_ = 0, dst_id_ = 0, peer_ = 0;
};

TEST_F(LocalBackendTest, CopiesOpsThenNotifies) {
  auto id = a_->post_write(
      peer_, {{src_id_, 0, dst_id_, 100, 1000}, {src_id_, 5000, dst_id_, 9000, 7}}, "hello", 3);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_TRUE(a_->wait(*id, milliseconds(10)).ok());
  EXPECT_EQ(a_->poll(*id).value(), TransferState::kDone);
  EXPECT_EQ(std::memcmp(dst_.data() + 100, src_.data(), 1000), 0);
  EXPECT_EQ(std::memcmp(dst_.data() + 9000, src_.data() + 5000, 7), 0);
  auto note = b_->wait_notification(milliseconds(10));
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(note->peer_name, "a");
  EXPECT_EQ(note->epoch, 3u);
  EXPECT_EQ(note->payload, "hello");
  EXPECT_EQ(a_->bytes_sent(), 1007u);
  EXPECT_EQ(b_->bytes_received(), 1007u);
  EXPECT_EQ(b_->wait_notification(milliseconds(1)).status().code(), StatusCode::kDeadlineExceeded);
}

TEST_F(LocalBackendTest, RefusesBadOpsAtPostTime) {
  auto code = [&](WriteOp op) { return a_->post_write(peer_, {op}, "", 1).status().code(); };
  EXPECT_EQ(code({src_id_, 0, dst_id_, (1 << 16) - 1, 2}), StatusCode::kOutOfRange);
  EXPECT_EQ(code({src_id_, ~0ull, dst_id_, 0, 2}), StatusCode::kOutOfRange);
  EXPECT_EQ(code({src_id_, 0, 77, 0, 2}), StatusCode::kNotFound);
  EXPECT_EQ(code({77, 0, dst_id_, 0, 2}), StatusCode::kNotFound);
  EXPECT_EQ(code({src_id_, 0, dst_id_, 0, 0}), StatusCode::kInvalidArgument);
  EXPECT_EQ(a_->post_write(peer_, {}, "", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 1}},
                           std::string(kMaxNotificationLen + 1, 'x'), 1)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(a_->post_write(42, {{src_id_, 0, dst_id_, 0, 1}}, "", 1).status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(b_->take_notifications().empty());
}

TEST_F(LocalBackendTest, DeregisteredRemoteRegionIsRefused) {
  ASSERT_TRUE(b_->deregister_region(dst_id_).ok());
  EXPECT_EQ(b_->deregister_region(dst_id_).code(), StatusCode::kNotFound);
  auto id = a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 10}}, "", 1);
  EXPECT_EQ(id.status().code(), StatusCode::kNotFound);
}

TEST_F(LocalBackendTest, FencedEpochIsDroppedBeforeAnyByte) {
  b_->fence_epoch(9);
  auto id = a_->post_write(peer_, {{src_id_, 1, dst_id_, 0, 10}}, "", 9);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(a_->wait(*id, milliseconds(10)).code(), StatusCode::kAborted);
  EXPECT_EQ(a_->poll(*id).value(), TransferState::kFailed);
  EXPECT_EQ(dst_[0], 0);
  EXPECT_TRUE(b_->take_notifications().empty());
}

TEST_F(LocalBackendTest, FenceDropsQueuedNotification) {
  ASSERT_TRUE(a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 10}}, "x", 4).ok());
  ASSERT_TRUE(a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 10}}, "y", 5).ok());
  b_->fence_epoch(4);
  auto notes = b_->take_notifications();
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].epoch, 5u);
}

TEST_F(LocalBackendTest, CancelOfFinishedTransferIsAPreconditionFailure) {
  auto id = a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 10}}, "", 1).value();
  EXPECT_EQ(a_->cancel(id).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a_->cancel(12345).code(), StatusCode::kNotFound);
  EXPECT_EQ(a_->poll(12345).status().code(), StatusCode::kNotFound);
}

TEST_F(LocalBackendTest, CompatKeyMismatchRefused) {
  auto c = make("c", "other");
  EXPECT_EQ(c->connect(b_->metadata()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(c->connect("garbage").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalBackendTest, DuplicateNameRefused) {
  // (Designated initializers: GCC 12 sees a false -Wrestrict in o.name = "a".)
  const AgentOptions o{.backend = BackendKind::kLocal, .name = "a"};
  EXPECT_EQ(Agent::create(o).status().code(), StatusCode::kAlreadyExists);
}

TEST_F(LocalBackendTest, VanishedPeerFailsTransfer) {
  b_.reset();
  auto id = a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 10}}, "", 1);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(a_->wait(*id, milliseconds(10)).code(), StatusCode::kUnavailable);
}

TEST(LocalFaultTest, EveryThirdOpFails) {
  auto a = make("fa", "k", 3);
  auto b = make("fb");
  std::vector<char> buf(64), out(64);
  uint64_t s = a->register_region(buf.data(), buf.size(), MemoryKind::kHost).value();
  uint64_t d = b->register_region(out.data(), out.size(), MemoryKind::kHost).value();
  uint64_t peer = a->connect(b->metadata()).value();
  ASSERT_TRUE(b->grant(1, {{d, 0, out.size()}}, GrantScope::kFirstPeer).ok());
  // ops 1,2 | 3 fails | 4,5 | 6 fails (first op of the fourth transfer), 7 never runs
  std::vector<StatusCode> codes;
  for (int n : {2, 1, 2, 2}) {
    std::vector<WriteOp> ops(n, WriteOp{s, 0, d, 0, 8});
    codes.push_back(a->wait(a->post_write(peer, ops, "", 1).value(), milliseconds(10)).code());
  }
  EXPECT_EQ(codes, (std::vector<StatusCode>{StatusCode::kOk, StatusCode::kAborted, StatusCode::kOk,
                                            StatusCode::kAborted}));
  EXPECT_EQ(b->take_notifications().size(), 2u);
}

TEST_F(LocalBackendTest, WrongClusterTokenRefusedAtConnect) {
  auto c = make("c", "k", 0, "guess");
  auto peer = c->connect(b_->metadata());
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(peer.status().message().find("secret"), std::string::npos);
  EXPECT_EQ(b_->peers_refused(), 1u);
}

TEST_F(LocalBackendTest, WriteOutsideTheGrantLandsNoByteAndIsCounted) {
  ASSERT_TRUE(b_->grant(20, {{dst_id_, 0, 64}}, GrantScope::kFirstPeer).ok());
  // One op inside, one past the end of the grant: nothing of either lands.
  auto id =
      a_->post_write(peer_, {{src_id_, 1, dst_id_, 0, 64}, {src_id_, 1, dst_id_, 64, 1}}, "x", 20);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(a_->wait(*id, milliseconds(10)).code(), StatusCode::kPermissionDenied);
  // An epoch never granted, and one granted to another connection.
  auto c = make("c");
  uint64_t c_src = c->register_region(src_.data(), src_.size(), MemoryKind::kHost).value();
  uint64_t c_peer = c->connect(b_->metadata()).value();
  EXPECT_EQ(a_->wait(a_->post_write(peer_, {{src_id_, 1, dst_id_, 0, 8}}, "", 21).value(),
                     milliseconds(10))
                .code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(a_->wait(a_->post_write(peer_, {{src_id_, 0, dst_id_, 1000, 1}}, "", 2).value(),
                       milliseconds(10))
                  .ok());
  EXPECT_EQ(
      c->wait(c->post_write(c_peer, {{c_src, 1, dst_id_, 0, 8}}, "", 2).value(), milliseconds(10))
          .code(),
      StatusCode::kPermissionDenied);
  EXPECT_TRUE(
      std::all_of(dst_.begin(), dst_.begin() + 1000, [](unsigned char x) { return x == 0; }));
  EXPECT_EQ(b_->peers_refused(), 3u);
  ASSERT_EQ(b_->take_notifications().size(), 1u);  // epoch 2's only
  // A revoked grant (the transfer ended) takes no more writes.
  b_->fence_epoch(2);
  EXPECT_NE(a_->wait(a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 1}}, "", 2).value(),
                     milliseconds(10))
                .code(),
            StatusCode::kOk);
  EXPECT_EQ(dst_[0], 0);
}

TEST_F(LocalBackendTest, NotificationFloodIsBoundedPerConnection) {
  size_t refused_at = 0;
  for (size_t i = 0; i <= kMaxQueuedPerPeer && refused_at == 0; ++i) {
    auto id = a_->post_write(peer_, {{src_id_, 0, dst_id_, 0, 1}}, "n", 1);
    ASSERT_TRUE(id.ok());
    if (!a_->wait(*id, milliseconds(10)).ok()) refused_at = i;
  }
  EXPECT_EQ(refused_at, kMaxQueuedPerPeer);
  EXPECT_EQ(b_->take_notifications().size(), kMaxQueuedPerPeer);
  EXPECT_EQ(b_->peers_refused(), 1u);
}

TEST(CoalesceTest, MergesOnlyRunsAdjacentOnBothSides) {
  std::vector<WriteOp> ops = {{1, 0, 2, 100, 10},
                              {1, 10, 2, 110, 5},   // merge
                              {1, 15, 2, 200, 5},   // remote gap
                              {3, 20, 2, 205, 5},   // other local region
                              {3, 25, 2, 210, 5}};  // merge with previous
  auto merged = coalesce_ops(ops);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].len, 15u);
  EXPECT_EQ(merged[1].remote_offset, 200u);
  EXPECT_EQ(merged[2].local_region, 3u);
  EXPECT_EQ(merged[2].len, 10u);
  std::vector<WriteOp> big(40, WriteOp{1, 0, 2, 0, 1 << 20});
  for (size_t i = 0; i < big.size(); ++i) big[i].local_offset = big[i].remote_offset = i << 20;
  EXPECT_EQ(coalesce_ops(big).size(), 3u);  // 16 + 16 + 8 MiB
}

TEST(LocalDeviceTest, DeviceRegionRefusedWithoutCuda) {
  auto a = make("dev");
  char x = 0;
  auto r = a->register_region(&x, 1, MemoryKind::kDevice);
  // With a CUDA build and a device, registering a host pointer as device is the caller's bug;
  // without one it must be refused cleanly.
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), StatusCode::kUnimplemented);
  }
}

}  // namespace
}  // namespace pdserve::kvtransfer
