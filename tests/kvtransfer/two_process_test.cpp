// Two real processes on loopback (two_process_fixture.h): blocks and
// notifications delivered intact and in order, cancels, deadlines, refusals
// of what a peer may not do (compat key, token, regions, grants, forged
// ACKs), parts of a layer-wise push. Runs for tcp, ucx over tcp and ucx over
// shared memory.
#include "tests/kvtransfer/two_process_fixture.h"

namespace pdserve::kvtransfer {
namespace {

using namespace two_process;

TEST_P(TwoProcessTest, RandomBlocksArriveIntactBeforeTheirNotification) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937_64 rng(7);
  for (uint64_t epoch = 1; epoch <= 6; ++epoch) {
    std::string expect;
    auto ops = random_ops(rng, std::uniform_int_distribution<size_t>(1, 48)(rng), epoch, &expect);
    auto id = agent_->post_write(peer_, ops, "note-" + std::to_string(epoch), epoch);
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    EXPECT_EQ(child_->call(expect, std::chrono::seconds(15)), "ok");
    ASSERT_TRUE(agent_->wait(*id, std::chrono::seconds(10)).ok());
    EXPECT_EQ(agent_->poll(*id).value(), TransferState::kDone);
  }
  EXPECT_GT(agent_->bytes_sent(), 0u);
}

TEST_P(TwoProcessTest, CancelMidFlightDeliversNoNotification) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto id = agent_->post_write(peer_, big_ops(512), "note-1", 1);
  ASSERT_TRUE(id.ok());
  Status s = agent_->cancel(*id);
  auto state = agent_->poll(*id).value();
  if (s.ok()) {
    EXPECT_EQ(state, TransferState::kCancelled);
    EXPECT_EQ(agent_->wait(*id, milliseconds(100)).code(), StatusCode::kCancelled);
  } else {
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.to_string();
    EXPECT_EQ(state, TransferState::kDone);
  }
  std::mt19937_64 rng(3);
  std::string expect;
  auto ops = random_ops(rng, 8, 2, &expect);
  auto next = agent_->post_write(peer_, ops, "note-2", 2);
  ASSERT_TRUE(next.ok());
  if (s.ok()) {
    EXPECT_EQ(child_->call(expect, std::chrono::seconds(15)), "ok");  // epoch 1 never arrived
  }
  EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
}

TEST_P(TwoProcessTest, PeerKilledMidTransferFailsWithinDeadline) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<uint64_t> ids(4);
  for (uint64_t& id : ids) id = agent_->post_write(peer_, big_ops(256), "x", 1).value();
  child_->kill_now();
  // Every transfer ends or reports kDeadlineExceeded within one 5 s budget;
  // the last one cannot have been acknowledged by a dead peer.
  auto t0 = std::chrono::steady_clock::now();
  auto until = t0 + std::chrono::seconds(5);
  Status last;
  for (uint64_t id : ids) {
    auto left = std::chrono::duration_cast<milliseconds>(until - std::chrono::steady_clock::now());
    last = agent_->wait(id, std::max(left, milliseconds(0)));
  }
  EXPECT_FALSE(last.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(6));
  auto late = agent_->post_write(peer_, big_ops(1), "y", 2);
  if (late.ok()) {
    EXPECT_FALSE(agent_->wait(*late, std::chrono::seconds(2)).ok());
  }
}

TEST_P(TwoProcessTest, DeadlineExpiresThenTransferCompletes) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto id = agent_->post_write(peer_, big_ops(256), "note-1", 1);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(agent_->wait(*id, milliseconds(0)).code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(agent_->wait(*id, std::chrono::seconds(20)).ok());
}

TEST_P(TwoProcessTest, CompatKeyMismatchRefusedAtConnect) {
  ASSERT_NO_FATAL_FAILURE(start("model-b"));
  auto peer = agent_->connect(peer_meta_);
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kFailedPrecondition);
  auto md = AgentMetadata::parse(peer_meta_).value();
  md.compat_key = "model-a";  // lie about it: the peer checks at handshake and refuses anyway
  auto forged = agent_->connect(md.serialize());
  EXPECT_EQ(forged.status().code(), StatusCode::kFailedPrecondition);
  md.version = 2;
  EXPECT_EQ(agent_->connect(md.serialize()).status().code(), StatusCode::kFailedPrecondition);
}

TEST_P(TwoProcessTest, OutOfBoundsAndUnregisteredRegionsRefused) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto code = [&](WriteOp op) { return agent_->post_write(peer_, {op}, "n", 1).status().code(); };
  EXPECT_EQ(code({src_region_, 0, dst_region_, kRegionLen - 10, 4096}), StatusCode::kOutOfRange);
  EXPECT_EQ(code({src_region_, 0, dst_region_, ~0ull - 10, 4096}), StatusCode::kOutOfRange);
  EXPECT_EQ(code({src_region_, kRegionLen, dst_region_, 0, 1}), StatusCode::kOutOfRange);
  EXPECT_EQ(code({src_region_, 0, 999, 0, 4096}), StatusCode::kNotFound);
  EXPECT_EQ(code({999, 0, dst_region_, 0, 4096}), StatusCode::kNotFound);
  if (GetParam().backend == BackendKind::kTcp) {  // the receiver checks too
    ASSERT_EQ(child_->call("dereg"), "ok");
    auto id = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 4096}}, "n", 1);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(agent_->wait(*id, std::chrono::seconds(5)).code(), StatusCode::kNotFound);
  }
}

TEST_P(TwoProcessTest, FencedEpochNotificationIsDropped) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(child_->call("fence 7"), "ok");
  auto late = agent_->post_write(peer_, big_ops(4), "note-7", 7);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(agent_->wait(*late, std::chrono::seconds(10)).code(), StatusCode::kAborted);
  auto next = agent_->post_write(peer_, big_ops(1), "note-8", 8);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("drain 50"), "epochs 8");
}

TEST_P(TwoProcessTest, FaultInjectorFailsEveryNthOpCleanly) {
  ASSERT_NO_FATAL_FAILURE(start("model-a", 3));
  std::vector<StatusCode> codes;
  for (uint64_t epoch = 1; epoch <= 6; ++epoch) {
    auto id = agent_->post_write(peer_, big_ops(1), "note", epoch);
    ASSERT_TRUE(id.ok());
    codes.push_back(agent_->wait(*id, std::chrono::seconds(10)).code());
  }
  std::vector<StatusCode> want = {StatusCode::kOk, StatusCode::kOk, StatusCode::kAborted,
                                  StatusCode::kOk, StatusCode::kOk, StatusCode::kAborted};
  EXPECT_EQ(codes, want);
  EXPECT_EQ(child_->call("drain 50"), "epochs 1 2 4 5");
}

TEST_P(TwoProcessTest, WriteOutsideTheGrantIsRefusedWithNoByteWritten) {
  // ucx put: the receiver refuses the transfer's plan, so no put is posted.
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string zeros = child_->call("sum 8192 4096").value_or("");
  ASSERT_EQ(child_->call("grant 20 0 4096"), "ok");
  // The first op is inside the grant, the second is not; neither is a fenced
  // epoch or an unregistered region, so only the grant can refuse it.
  auto id = agent_->post_write(
      peer_, {{src_region_, 0, dst_region_, 8192, 4096}, {src_region_, 0, dst_region_, 0, 4096}},
      "note-20", 20);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_FALSE(agent_->wait(*id, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("sum 8192 4096"), zeros);
  EXPECT_EQ(child_->call("drain 50"), "epochs");
  EXPECT_EQ(child_->call("refused"), "1");
  // An epoch the receiver never granted.
  auto again = agent_->connect(peer_meta_);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  auto ungranted = agent_->post_write(*again, {{src_region_, 0, dst_region_, 8192, 16}}, "x", 99);
  ASSERT_TRUE(ungranted.ok());
  EXPECT_FALSE(agent_->wait(*ungranted, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("sum 8192 4096"), zeros);
}

// ucx: a process that can reach the sender's worker (its address is in the
// sender's metadata) sends ACKs naming a transfer in flight, with every
// session id a receiver issues early and a made-up tag, while the receiver
// is stopped. None completes the transfer; the receiver's own ACK does.
TEST_P(TwoProcessTest, ForgedAckCompletesNoTransfer) {
  if (GetParam().backend != BackendKind::kUcx) GTEST_SKIP() << "tcp answers on its own connection";
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(child_->call("grant 20 0 4096"), "ok");
  const std::string zeros = child_->call("sum 8192 4096").value_or("");
  auto md = AgentMetadata::parse(agent_->metadata());
  ASSERT_TRUE(md.ok());
  // Made before the stop: the receiver stays stopped for a few milliseconds,
  // well inside the sender's silence deadline (ucx_internal.h kSilenceTimeout).
  auto forger = std::make_unique<testing::RawUcxSender>(md->address);
  ASSERT_NO_FATAL_FAILURE(stop_child());
  // Outside the grant: the receiver refuses it.
  auto id = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 8192, 4096}}, "note-20", 20);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  {
    for (uint64_t session_id = 0; session_id < 8; ++session_id) {
      ucx::AckHeader ack{};
      ack.session.id = session_id;
      ack.transfer_id = *id;
      ack.code = static_cast<uint64_t>(StatusCode::kOk);
      forger->send(ucx::kAckAm, &ack, sizeof(ack), nullptr, 0);
    }
    forger.reset();
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (agent_->peers_refused() < 8 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(agent_->peers_refused(), 8u);
  EXPECT_EQ(agent_->poll(*id).value(), TransferState::kPending);
  ASSERT_EQ(::kill(child_->pid(), SIGCONT), 0);
  const Status legit = agent_->wait(*id, std::chrono::seconds(10));
  EXPECT_EQ(legit.code(), StatusCode::kPermissionDenied) << legit.to_string();
  EXPECT_EQ(child_->call("sum 8192 4096"), zeros);
}

// A layer-wise push: parts (empty notifications) and a last write per
// epoch. Every part completes, the data lands before the last notification.
TEST_P(TwoProcessTest, PartsThenTheLastWriteArriveIntact) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::mt19937_64 rng(5);
  for (uint64_t epoch = 1; epoch <= 3; ++epoch) {
    std::vector<uint64_t> parts;
    std::ostringstream expect;
    expect << "expect " << epoch << " 10000 " << 8;
    for (int layer = 0; layer < 8; ++layer) {  // 8 layers of 2 blocks of 64 KB
      std::vector<WriteOp> ops;
      for (int b = 0; b < 2; ++b) {
        const uint64_t at = (static_cast<uint64_t>(layer) * 2 + b) * kSlot;
        const uint64_t local = std::uniform_int_distribution<uint64_t>(0, kRegionLen - kSlot)(rng);
        ops.push_back({src_region_, local, dst_region_, at, 64 << 10});
        if (b == 0)
          expect << " " << at << " " << (64 << 10) << " " << checksum(&src_[local], 64 << 10);
      }
      const bool last = layer == 7;
      auto id = agent_->post_write(peer_, ops, last ? "note-" + std::to_string(epoch) : "", epoch);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      parts.push_back(*id);
    }
    EXPECT_EQ(child_->call(expect.str(), std::chrono::seconds(15)), "ok");
    for (uint64_t id : parts) EXPECT_TRUE(agent_->wait(id, std::chrono::seconds(10)).ok());
  }
}

// tcp answers only the last write of an epoch: with the receiver stopped,
// its parts complete (their bytes are on the connection), the last does not
// until the receiver's ACK.
TEST_P(TwoProcessTest, PartsCompleteWithoutTheReceiversAnswer) {
  if (GetParam().backend != BackendKind::kTcp) GTEST_SKIP() << "ucx answers every write";
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(stop_child());
  std::vector<uint64_t> parts;
  for (uint64_t layer = 0; layer < 4; ++layer) {
    parts.push_back(
        agent_->post_write(peer_, {{src_region_, 0, dst_region_, layer * 4096, 4096}}, "", 1)
            .value());
  }
  auto last =
      agent_->post_write(peer_, {{src_region_, 0, dst_region_, 4 * 4096, 4096}}, "note-1", 1);
  ASSERT_TRUE(last.ok());
  for (uint64_t id : parts) EXPECT_TRUE(agent_->wait(id, std::chrono::seconds(10)).ok());
  EXPECT_EQ(agent_->wait(*last, milliseconds(0)).code(), StatusCode::kDeadlineExceeded);
  ASSERT_EQ(::kill(child_->pid(), SIGCONT), 0);
  EXPECT_TRUE(agent_->wait(*last, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("drain 50"), "epochs 1p 1p 1p 1p 1");
}

TEST_P(TwoProcessTest, WrongClusterTokenRefusedAtConnect) {
  ASSERT_NO_FATAL_FAILURE(start("model-a", 0, "a-guess"));
  auto peer = agent_->connect(peer_meta_);
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kUnauthenticated) << peer.status().to_string();
  EXPECT_EQ(peer.status().message().find(kToken), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, TwoProcessTest,
    ::testing::Values(Config{"tcp", BackendKind::kTcp, "", ""},
                      Config{"ucx_tcp", BackendKind::kUcx, "tcp", ""},
                      Config{"ucx_shm", BackendKind::kUcx, "sm,self", ""},
                      Config{"ucx_tcp_put", BackendKind::kUcx, "tcp", "put"},
                      Config{"ucx_shm_put", BackendKind::kUcx, "sm,self", "put"},
                      // 256 KB chunks go by rendezvous, 64 KB ones eager.
                      Config{"ucx_shm_staged", BackendKind::kUcx, "sm,self", "", "256"},
                      Config{"ucx_tcp_staged", BackendKind::kUcx, "tcp", "", "64"}),
    [](const auto& info) { return info.param.label; });

}  // namespace
}  // namespace pdserve::kvtransfer
