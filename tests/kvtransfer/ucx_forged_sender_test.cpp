// A process that has a ucx receiver's metadata (its worker address and
// regions) but not the cluster token, speaking UCX directly: it names an
// honest sender's session in its DATA messages. The receiver must take none
// of its bytes and leave the honest session alone.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "kvtransfer/agent.h"
#include "kvtransfer/metadata.h"
#include "kvtransfer/ucx_internal.h"
#include "tests/kvtransfer/raw_ucx_sender.h"

namespace pdserve::kvtransfer {
namespace {

using namespace std::chrono_literals;

constexpr size_t kRegionLen = 64 << 10;
constexpr uint64_t kEpoch = 1;

AgentOptions ucx_options(const std::string& name) {
  AgentOptions o;
  o.backend = BackendKind::kUcx;
  o.name = name;
  o.compat_key = "model-a";
  o.cluster_token = "the-token";
  return o;
}

bool all_zero(const std::vector<char>& v, size_t off, size_t len) {
  for (size_t i = off; i < off + len; ++i)
    if (v[i] != 0) return false;
  return true;
}

TEST(UcxForgedSenderTest, DataNamingAnHonestSessionLandsNoByteAndIsCounted) {
  setenv("UCX_TLS", "tcp", 1);
  auto receiver = Agent::create(ucx_options("receiver"));
  ASSERT_TRUE(receiver.ok()) << receiver.status().to_string();
  std::vector<char> region(kRegionLen, 0);
  auto dst = (*receiver)->register_region(region.data(), region.size(), MemoryKind::kHost);
  ASSERT_TRUE(dst.ok());
  ASSERT_TRUE((*receiver)->grant(kEpoch, {{*dst, 0, kRegionLen}}, GrantScope::kFirstPeer).ok());

  // The honest sender binds the grant to its session with a first write.
  auto sender = Agent::create(ucx_options("sender"));
  ASSERT_TRUE(sender.ok());
  std::vector<char> src(4096, 1);
  auto src_id = (*sender)->register_region(src.data(), src.size(), MemoryKind::kHost);
  ASSERT_TRUE(src_id.ok());
  auto peer = (*sender)->connect((*receiver)->metadata());
  ASSERT_TRUE(peer.ok()) << peer.status().to_string();
  auto first = (*sender)->post_write(*peer, {{*src_id, 0, *dst, 0, 1024}}, "first", kEpoch);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*sender)->wait(*first, 10s).ok());
  ASSERT_TRUE((*receiver)->wait_notification(10s).ok());

  // The forger names every session id a receiver issues early, with a made-up tag.
  auto md = AgentMetadata::parse((*receiver)->metadata());
  ASSERT_TRUE(md.ok());
  testing::RawUcxSender forger(md->address);
  std::vector<char> junk(4096, 'X');
  for (uint64_t session_id = 0; session_id < 8; ++session_id) {
    ucx::DataHeader h{};
    h.session.id = session_id;
    h.transfer_id = 1;
    h.region = *dst;
    h.offset = 8192;
    h.len = junk.size();
    h.epoch = kEpoch;
    forger.send(ucx::kDataAm, &h, sizeof(h), junk.data(), junk.size());
  }
  const auto until = std::chrono::steady_clock::now() + 20s;
  while ((*receiver)->peers_refused() < 8 && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ((*receiver)->peers_refused(), 8u);
  EXPECT_TRUE(all_zero(region, 1024, kRegionLen - 1024));

  // The honest session goes on writing under its grant.
  auto second = (*sender)->post_write(*peer, {{*src_id, 0, *dst, 2048, 1024}}, "done", kEpoch);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE((*sender)->wait(*second, 10s).ok());
  auto note = (*receiver)->wait_notification(10s);
  ASSERT_TRUE(note.ok()) << note.status().to_string();
  EXPECT_EQ(note->payload, "done");
  EXPECT_EQ(region[2048], 1);
  unsetenv("UCX_TLS");
}

// The metadata names each region's address and length but withholds its
// packed rkey (only a session whose plan was accepted gets it): a process
// with the metadata but not the token has nothing to put with. It tries with
// what the metadata holds; no byte lands.
TEST(UcxForgedSenderTest, MetadataGivesNoRkeyToPutWith) {
  setenv("UCX_TLS", "tcp", 1);
  auto receiver = Agent::create(ucx_options("receiver"));
  ASSERT_TRUE(receiver.ok()) << receiver.status().to_string();
  std::vector<char> region(kRegionLen, 0);
  ASSERT_TRUE((*receiver)->register_region(region.data(), region.size(), MemoryKind::kHost).ok());
  auto md = AgentMetadata::parse((*receiver)->metadata());
  ASSERT_TRUE(md.ok());
  ASSERT_EQ(md->regions.size(), 1u);
  const RegionDesc& desc = md->regions[0];
  EXPECT_LE(desc.rkey.size(), 1u) << "the metadata holds a packed rkey";
  testing::RawUcxSender forger(md->address);
  std::vector<char> junk(4096, 'X');
  if (desc.rkey.size() > 1) {  // a packed rkey: UCX takes it
    EXPECT_FALSE(forger.put(junk.data(), junk.size(), desc.addr + 8192, desc.rkey));
  }
  EXPECT_TRUE(all_zero(region, 0, kRegionLen));
  unsetenv("UCX_TLS");
}

}  // namespace
}  // namespace pdserve::kvtransfer
