// Two real processes on loopback: the test process sends, a forked child
// receives and answers commands over a pipe (child_process.h). Runs for tcp,
// ucx over tcp and ucx over shared memory.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <random>
#include <sstream>
#include <thread>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "kvtransfer/ucx_internal.h"
#include "tests/kvtransfer/child_process.h"
#include "tests/kvtransfer/raw_ucx_sender.h"

namespace pdserve::kvtransfer {
namespace {

using std::chrono::milliseconds;
using testing::ChildProcess;

constexpr size_t kRegionLen = 64 << 20;
constexpr size_t kSlot = 1 << 20;

struct Config {
  std::string label;
  BackendKind backend;
  std::string ucx_tls;   // set as UCX_TLS in both processes when not empty
  std::string protocol;  // PDSERVE_KV_UCX_PROTOCOL when not empty
  // Non-empty: PDSERVE_KV_UCX_STAGING=always with chunks of this many KB
  // (PDSERVE_KV_UCX_STAGING_CHUNK_KB), so host regions take the staged path
  // that device memory takes without CUDA-capable UCX.
  std::string staging_chunk_kb = "";
};
// How gtest (and so ctest's test names) shows a Config.
void PrintTo(const Config& c, std::ostream* os) {
  *os << c.label;
}

uint64_t checksum(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < n / 8; ++i) h = (h ^ w[i]) * 1099511628211ull;
  for (size_t i = n / 8 * 8; i < n; ++i)
    h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

constexpr char kToken[] = "two-process-token";

// The receiving child: one region of kRegionLen, commands from the parent.
// Epochs 1..8 are granted the whole region; "grant" adds others.
int receiver_main(int in, int out, BackendKind backend, const std::string& compat) {
  AgentOptions options;
  options.backend = backend;
  options.name = "receiver";
  options.compat_key = compat;
  options.cluster_token = kToken;
  auto agent = Agent::create(options);
  if (!agent.ok()) {
    testing::send_message(out, "err " + agent.status().to_string());
    return 1;
  }
  std::vector<char> region(kRegionLen, 0);
  auto region_id = (*agent)->register_region(region.data(), region.size(), MemoryKind::kHost);
  if (!region_id.ok()) return 2;
  for (uint64_t epoch = 1; epoch <= 8; ++epoch) {
    if (!(*agent)->grant(epoch, {{*region_id, 0, kRegionLen}}, GrantScope::kFirstPeer).ok())
      return 3;
  }
  while (true) {
    auto cmd = testing::recv_message(in, std::chrono::seconds(60));
    if (!cmd) return 0;
    std::istringstream is(*cmd);
    std::string verb;
    is >> verb;
    std::string reply = "ok";
    if (verb == "meta") {
      reply = (*agent)->metadata();
    } else if (verb == "expect") {  // expect <epoch> <timeout_ms> <n> (offset len sum)*
      uint64_t epoch, timeout_ms, n;
      is >> epoch >> timeout_ms >> n;
      auto note = (*agent)->wait_notification(milliseconds(timeout_ms));
      while (note.ok() && note->payload.empty()) {  // a part's: the transfer goes on
        note = (*agent)->wait_notification(milliseconds(timeout_ms));
      }
      if (!note.ok()) {
        reply = "err " + note.status().to_string();
      } else if (note->epoch != epoch || note->peer_name != "sender" ||
                 note->payload != "note-" + std::to_string(epoch)) {
        reply = "err unexpected notification epoch " + std::to_string(note->epoch);
      }
      for (uint64_t i = 0; i < n && reply == "ok"; ++i) {
        uint64_t off, len, sum;
        is >> off >> len >> sum;
        if (checksum(region.data() + off, len) != sum)
          reply = "err checksum of block " + std::to_string(i);
      }
    } else if (verb == "fence") {
      uint64_t epoch;
      is >> epoch;
      (*agent)->fence_epoch(epoch);
    } else if (verb == "drain") {  // drain <ms>: epochs of the notifications that arrived
      uint64_t ms;
      is >> ms;
      std::this_thread::sleep_for(milliseconds(ms));
      reply = "epochs";
      for (const Notification& n : (*agent)->take_notifications())
        reply += " " + std::to_string(n.epoch) + (n.payload.empty() ? "p" : "");
    } else if (verb == "grant") {  // grant <epoch> <offset> <len>
      uint64_t epoch, off, len;
      is >> epoch >> off >> len;
      Status s = (*agent)->grant(epoch, {{*region_id, off, len}}, GrantScope::kFirstPeer);
      reply = s.ok() ? "ok" : "err " + s.to_string();
    } else if (verb == "sum") {  // sum <offset> <len>: checksum of that part of the region
      uint64_t off, len;
      is >> off >> len;
      reply = std::to_string(checksum(region.data() + off, len));
    } else if (verb == "refused") {
      reply = std::to_string((*agent)->peers_refused());
    } else if (verb == "dereg") {
      Status s = (*agent)->deregister_region(*region_id);
      reply = s.ok() ? "ok" : "err " + s.to_string();
    } else if (verb == "quit") {
      testing::send_message(out, "ok");
      return 0;
    }
    if (!testing::send_message(out, reply)) return 0;
  }
}

class TwoProcessTest : public ::testing::TestWithParam<Config> {
 protected:
  void SetUp() override {
    if (!GetParam().ucx_tls.empty()) setenv("UCX_TLS", GetParam().ucx_tls.c_str(), 1);
    if (!GetParam().protocol.empty())
      setenv("PDSERVE_KV_UCX_PROTOCOL", GetParam().protocol.c_str(), 1);
    if (!GetParam().staging_chunk_kb.empty()) {
      setenv("PDSERVE_KV_UCX_STAGING", "always", 1);
      setenv("PDSERVE_KV_UCX_STAGING_CHUNK_KB", GetParam().staging_chunk_kb.c_str(), 1);
    }
    src_.resize(kRegionLen);
    std::mt19937_64 rng(42);
    for (size_t i = 0; i < kRegionLen / 8; ++i) reinterpret_cast<uint64_t*>(src_.data())[i] = rng();
  }
  void TearDown() override {
    unsetenv("UCX_TLS");
    unsetenv("PDSERVE_KV_UCX_PROTOCOL");
    unsetenv("PDSERVE_KV_UCX_STAGING");
    unsetenv("PDSERVE_KV_UCX_STAGING_CHUNK_KB");
  }

  // Starts the receiver child and a connected sender agent.
  void start(const std::string& child_compat = "model-a", int fail_every_n = 0,
             const std::string& token = kToken) {
    BackendKind backend = GetParam().backend;
    child_ = std::make_unique<ChildProcess>([backend, child_compat](int in, int out) {
      return receiver_main(in, out, backend, child_compat);
    });
    auto meta = child_->call("meta");
    ASSERT_TRUE(meta.has_value());
    ASSERT_NE(meta->substr(0, 4), "err ") << *meta;
    peer_meta_ = *meta;
    AgentOptions options;
    options.backend = backend;
    options.name = "sender";
    options.compat_key = "model-a";
    options.cluster_token = token;
    options.fail_every_n = fail_every_n;
    auto agent = Agent::create(options);
    ASSERT_TRUE(agent.ok()) << agent.status().to_string();
    agent_ = std::move(agent).value();
    auto region = agent_->register_region(src_.data(), src_.size(), MemoryKind::kHost);
    ASSERT_TRUE(region.ok());
    src_region_ = *region;
    if (child_compat == "model-a" && token == kToken) {
      auto peer = agent_->connect(peer_meta_);
      ASSERT_TRUE(peer.ok()) << peer.status().to_string();
      peer_ = *peer;
      auto md = AgentMetadata::parse(peer_meta_);
      ASSERT_TRUE(md.ok() && !md->regions.empty());
      dst_region_ = md->regions[0].id;
    }
  }

  // n random blocks of 4 KB..1 MB into distinct 1 MB slots; "expect" command.
  std::vector<WriteOp> random_ops(std::mt19937_64& rng, size_t n, uint64_t epoch,
                                  std::string* expect) {
    std::vector<uint64_t> slots(kRegionLen / kSlot);
    for (size_t i = 0; i < slots.size(); ++i) slots[i] = i;
    std::shuffle(slots.begin(), slots.end(), rng);
    std::vector<WriteOp> ops;
    ops.reserve(n);
    std::ostringstream os;
    os << "expect " << epoch << " 10000 " << n;
    for (size_t i = 0; i < n; ++i) {
      uint64_t len = std::uniform_int_distribution<uint64_t>(4096, kSlot)(rng);
      uint64_t local = std::uniform_int_distribution<uint64_t>(0, kRegionLen - len)(rng);
      WriteOp op{src_region_, local, dst_region_, slots[i] * kSlot, len};
      ops.push_back(op);
      os << " " << op.remote_offset << " " << len << " " << checksum(src_.data() + local, len);
    }
    *expect = os.str();
    return ops;
  }

  // SIGSTOP of the receiver, returning once it is stopped (the signal is
  // delivered when the child next runs).
  void stop_child() {
    ASSERT_EQ(::kill(child_->pid(), SIGSTOP), 0);
    int stopped = 0;
    ASSERT_EQ(::waitpid(child_->pid(), &stopped, WUNTRACED), child_->pid());
    ASSERT_TRUE(WIFSTOPPED(stopped));
  }

  // connect() after the peer broke gives a new peer, whose write of epoch
  // `epoch` lands at `offset` (checksum).
  void expect_reconnect_writes(uint64_t epoch, uint64_t offset) {
    auto again = agent_->connect(peer_meta_);
    ASSERT_TRUE(again.ok()) << again.status().to_string();
    EXPECT_NE(*again, peer_);
    auto next = agent_->post_write(*again, {{src_region_, 0, dst_region_, offset, 4096}},
                                   "note-" + std::to_string(epoch), epoch);
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
    EXPECT_EQ(child_->call("sum " + std::to_string(offset) + " 4096"),
              std::to_string(checksum(src_.data(), 4096)));
  }

  std::vector<WriteOp> big_ops(size_t n) {
    std::vector<WriteOp> ops;
    ops.reserve(n);
    for (size_t i = 0; i < n; ++i)
      ops.push_back({src_region_, (i % 64) * kSlot, dst_region_, (i % 64) * kSlot, kSlot});
    return ops;
  }

  std::vector<char> src_;
  std::unique_ptr<ChildProcess> child_;
  std::unique_ptr<Agent> agent_;
  std::string peer_meta_;
  uint64_t src_region_ = 0, dst_region_ = 0, peer_ = 0;
};

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

// The bound of the two tests below is not a speed assertion: it only tells
// a failure the sender detects (within its silence deadline, 5 s, or at once
// where the transport reports the broken connection) from the hang it
// replaced, 30 s until the missing answer timed out (kAckTimeout). A loaded
// machine stays well inside 15 s; the old behaviour cannot.
constexpr auto kFailureBound = std::chrono::seconds(15);

// The receiver dies while the sender waits for its answer (its data and
// notification sent; put: its plan): the transfer fails with kUnavailable
// within the bound, on every transport (ucx over shared memory reports no
// failure: the sender finds the receiver's silence), and the peer refuses
// later writes.
TEST_P(TwoProcessTest, ReceiverKilledBeforeItsAnswerFailsTheTransferWithinTheBound) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(stop_child());
  auto id = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 4096}}, "note-1", 1);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  // Gives the eager sends time to leave (not asserted: every phase of the
  // transfer must end failed, this one is the phase the test is about).
  std::this_thread::sleep_for(milliseconds(200));
  child_->kill_now();
  const Status failed = agent_->wait(*id, kFailureBound);
  ASSERT_NE(failed.code(), StatusCode::kDeadlineExceeded) << "still pending after the bound";
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.to_string();
  auto late = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 4096}}, "note-2", 2);
  const Status refused = late.ok() ? agent_->wait(*late, kFailureBound) : late.status();
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.to_string();
}

// ucx: the receiver stalls (SIGSTOP) while the sender waits for its answer.
// The sender's probes go unanswered: within the bound the transfer fails
// (kUnavailable), the peer is broken (later writes refused), and after the
// receiver resumes connect() makes a new session that writes again.
TEST_P(TwoProcessTest, StalledReceiverBreaksThePeerAndAReconnectWrites) {
  if (GetParam().backend != BackendKind::kUcx) GTEST_SKIP() << "tcp has no probes";
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_NO_FATAL_FAILURE(stop_child());
  auto id = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 4096}}, "note-1", 1);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  const Status failed = agent_->wait(*id, kFailureBound);
  ASSERT_NE(failed.code(), StatusCode::kDeadlineExceeded) << "still pending after the bound";
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.to_string();
  EXPECT_NE(failed.message().find("answered nothing"), std::string::npos) << failed.to_string();
  EXPECT_EQ(
      agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 4096}}, "n", 2).status().code(),
      StatusCode::kUnavailable);
  ASSERT_EQ(::kill(child_->pid(), SIGCONT), 0);
  expect_reconnect_writes(2, 8192);
}

// ucx: a receiver that refused a session (a write outside its grant)
// answers every later message of it with the refusal and a probe answer
// saying the session is closed: the sender breaks the peer (later writes
// refused, kUnavailable), and connect() makes a new session whose writes land.
TEST_P(TwoProcessTest, RefusedSessionBreaksThePeerAndAReconnectWrites) {
  if (GetParam().backend != BackendKind::kUcx) GTEST_SKIP() << "tcp drops the connection";
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_EQ(child_->call("grant 20 0 4096"), "ok");
  auto bad = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 8192, 4096}}, "note-20", 20);
  ASSERT_TRUE(bad.ok()) << bad.status().to_string();
  EXPECT_FALSE(agent_->wait(*bad, std::chrono::seconds(10)).ok());
  // The closed session's answer breaks the peer; a write posted before it
  // came fails (its session is closed) and brings that answer.
  Status refused;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (refused.ok() && std::chrono::steady_clock::now() < until) {
    auto id = agent_->post_write(peer_, {{src_region_, 0, dst_region_, 0, 16}}, "n", 3);
    if (!id.ok()) {
      refused = id.status();
    } else {
      EXPECT_FALSE(agent_->wait(*id, std::chrono::seconds(10)).ok());
    }
  }
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.to_string();
  EXPECT_NE(refused.message().find("closed the session"), std::string::npos) << refused.to_string();
  expect_reconnect_writes(4, 16384);
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

// The receiver gives up on an epoch between two parts: the epoch's last
// write fails (kAborted), its notification never shows, the next epoch goes.
TEST_P(TwoProcessTest, ReceiverGivingUpMidTransferFailsItsLastWrite) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto first = agent_->post_write(peer_, big_ops(1), "", 2);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(agent_->wait(*first, std::chrono::seconds(10)).ok());
  ASSERT_EQ(child_->call("fence 2"), "ok");
  auto second = agent_->post_write(peer_, big_ops(2), "", 2);  // refused, unanswered on tcp
  auto last = agent_->post_write(peer_, big_ops(1), "note-2", 2);
  ASSERT_TRUE(second.ok() && last.ok());
  const Status second_done = agent_->wait(*second, std::chrono::seconds(10));
  EXPECT_TRUE(second_done.ok() || second_done.code() == StatusCode::kAborted)
      << second_done.to_string();
  EXPECT_EQ(agent_->wait(*last, std::chrono::seconds(10)).code(), StatusCode::kAborted);
  auto next = agent_->post_write(peer_, big_ops(1), "note-3", 3);
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(agent_->wait(*next, std::chrono::seconds(10)).ok());
  EXPECT_EQ(child_->call("drain 50"), "epochs 3");  // the fence dropped the part's too
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
