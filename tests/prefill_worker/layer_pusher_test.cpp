// LayerPusher between two local kvtransfer agents (host regions, two
// layers): a layer the runner hook queues is posted only once its marker has
// fired, layers go in order with the request id on the last one, a chunk of
// a long prompt pushes the blocks it completes, finish() posts what the hook
// never saw, forget() drops a queued layer, and finish() gives up on a
// layer whose marker does not fire once the push is not wanted any more.
#include "prefill_worker/layer_pusher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <numeric>

namespace pdserve::prefill {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kLayers = 2;
constexpr uint64_t kBlockBytes = 64;
constexpr int kBlocks = 8;
constexpr uint64_t kEpoch = 5;
constexpr int kBlockSize = 16;  // tokens

// A marker the test fires by hand (a backend's fires when its stream reaches it).
class Gate final : public backend::Marker {
 public:
  explicit Gate(std::shared_future<void> open) : open_(std::move(open)) {}
  void wait() override { open_.wait(); }

 private:
  std::shared_future<void> open_;
};

std::unique_ptr<kvtransfer::Agent> local_agent(const std::string& name,
                                               const std::string& compat = "k") {
  kvtransfer::AgentOptions o;
  o.backend = kvtransfer::BackendKind::kLocal;
  o.name = name;
  o.compat_key = compat;
  return kvtransfer::Agent::create(o).value();
}

class LayerPusherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    prefill_ = local_agent("prefill");
    decode_ = local_agent("decode");
    worker::KvRegions regions;
    regions.block_bytes = kBlockBytes;
    regions.block_size = kBlockSize;
    LayerPusher::Target t;
    t.target.block_bytes = kBlockBytes;
    t.target.epoch = kEpoch;
    t.target.block_ids = {6, 1, 4};  // destination of source blocks 0, 2, 3
    std::vector<kvtransfer::GrantRange> ranges;
    for (int l = 0; l < kLayers; ++l) {
      src_[l].resize(kBlocks * kBlockBytes);
      std::iota(src_[l].begin(), src_[l].end(), static_cast<unsigned char>(50 * l));
      dst_[l].assign(kBlocks * kBlockBytes, 0);
      regions.layer_regions.push_back(
          prefill_->register_region(src_[l].data(), src_[l].size(), kvtransfer::MemoryKind::kHost)
              .value());
      const uint64_t d =
          decode_->register_region(dst_[l].data(), dst_[l].size(), kvtransfer::MemoryKind::kHost)
              .value();
      t.target.layer_regions.push_back(d);
      ranges.push_back({d, 0, dst_[l].size()});
    }
    ASSERT_TRUE(decode_->grant(kEpoch, ranges, kvtransfer::GrantScope::kFirstPeer).ok());
    t.peer = prefill_->connect(decode_->metadata()).value();
    t.notification = "req-1";
    target_ = t;
    pusher_ = std::make_unique<LayerPusher>(*prefill_, regions, timeline_, [this] {
      return std::make_unique<Gate>(gates_[num_marks_++].get_future().share());
    });
  }

  // The step that ends a 40-token prompt (blocks 0, 2, 3 of the pool),
  // after `computed` tokens.
  runner::StepBatch step(uint64_t seq_id, int computed = 0) const {
    runner::SeqStep s{seq_id,
                      std::vector<int32_t>(static_cast<size_t>(40 - computed), 1),
                      computed,
                      {0, 2, 3},
                      true};
    return runner::StepBatch{{}, {}, {s}};
  }
  // Layer l of destination block b equals source block s.
  bool landed(int l, int b, int s) const {
    return std::equal(dst_[l].begin() + b * kBlockBytes, dst_[l].begin() + (b + 1) * kBlockBytes,
                      src_[l].begin() + s * kBlockBytes);
  }
  bool untouched(int l, int b) const {
    return std::all_of(dst_[l].begin() + b * kBlockBytes, dst_[l].begin() + (b + 1) * kBlockBytes,
                       [](unsigned char c) { return c == 0; });
  }

  RequestTimeline timeline_{"prefill"};
  std::unique_ptr<kvtransfer::Agent> prefill_, decode_;
  std::vector<unsigned char> src_[kLayers], dst_[kLayers];
  LayerPusher::Target target_;
  std::promise<void> gates_[2 * kLayers];
  std::atomic<int> num_marks_{0};
  std::unique_ptr<LayerPusher> pusher_;
};

TEST_F(LayerPusherTest, LayersGoOnceTheirMarkerFiredInOrder) {
  pusher_->expect(7, target_);
  const runner::StepBatch b = step(7);
  pusher_->on_layer(0, b);
  pusher_->on_layer(1, b);
  ASSERT_EQ(num_marks_, 2);
  std::this_thread::sleep_for(milliseconds(50));  // a wrong pusher would post now
  EXPECT_TRUE(untouched(0, 6) && untouched(1, 6));
  EXPECT_FALSE(decode_->wait_notification(milliseconds(1)).ok());
  gates_[0].set_value();
  auto first = decode_->wait_notification(seconds(5));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->payload, "");  // layer 0: no notification of its own
  EXPECT_TRUE(landed(0, 6, 0) && landed(0, 1, 2) && landed(0, 4, 3));
  EXPECT_TRUE(untouched(1, 6));
  gates_[1].set_value();
  std::atomic<bool> gone{false};
  auto pushed = pusher_->finish(7, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(5), gone);
  ASSERT_TRUE(pushed.ok()) << pushed.status().to_string();
  EXPECT_EQ(pushed->layers_during_prefill, kLayers);
  EXPECT_EQ(pushed->layers_after, 0);
  EXPECT_EQ(pushed->bytes, 2 * 3 * kBlockBytes);
  auto last = decode_->wait_notification(seconds(5));
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->payload, "req-1");
  EXPECT_EQ(last->epoch, kEpoch);
  EXPECT_TRUE(landed(1, 6, 0) && landed(1, 1, 2) && landed(1, 4, 3));
  EXPECT_TRUE(untouched(0, 0) && untouched(1, 7));
}

TEST_F(LayerPusherTest, FinishPostsWhatTheHookNeverSaw) {
  pusher_->expect(8, target_);
  std::atomic<bool> gone{false};
  auto pushed = pusher_->finish(8, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(5), gone);
  ASSERT_TRUE(pushed.ok()) << pushed.status().to_string();
  EXPECT_EQ(pushed->layers_during_prefill, 0);
  EXPECT_EQ(pushed->layers_after, kLayers);
  EXPECT_EQ(num_marks_, 0);
  EXPECT_TRUE(landed(0, 1, 2) && landed(1, 4, 3));
}

TEST_F(LayerPusherTest, ForgottenSequenceIsNotPostedWhenItsMarkerFires) {
  pusher_->expect(9, target_);
  pusher_->on_layer(0, step(9));
  pusher_->forget(9);
  // Request 10 writes other blocks; its layer queues behind 9's.
  LayerPusher::Target other = target_;
  other.target.block_ids = {0, 2, 7};
  other.notification = "req-10";
  pusher_->expect(10, other);
  pusher_->on_layer(0, step(10));
  gates_[0].set_value();
  gates_[1].set_value();
  std::atomic<bool> gone{false};
  ASSERT_TRUE(
      pusher_->finish(10, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(5), gone).ok());
  EXPECT_TRUE(landed(0, 0, 0) && landed(0, 2, 2) && landed(0, 7, 3));
  EXPECT_TRUE(untouched(0, 6) && untouched(0, 1) && untouched(0, 4));  // 9's blocks
  EXPECT_FALSE(pusher_->finish(9, {0, 2, 3}, std::chrono::steady_clock::now(), gone).ok());
}

// A layer whose marker does not fire (a stuck device) holds finish() only
// while the push is wanted: once the decode worker went away, or past the
// deadline, finish() gives up, and that layer is never posted.
TEST_F(LayerPusherTest, FinishGivesUpOnAQueuedLayerOnceUnwanted) {
  pusher_->expect(11, target_);
  pusher_->on_layer(0, step(11));
  std::atomic<bool> gone{true};
  EXPECT_EQ(pusher_->finish(11, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(60), gone)
                .status()
                .code(),
            StatusCode::kCancelled);
  pusher_->expect(12, target_);
  pusher_->on_layer(0, step(12));
  std::atomic<bool> here{false};
  EXPECT_EQ(pusher_->finish(12, {0, 2, 3}, std::chrono::steady_clock::now(), here).status().code(),
            StatusCode::kDeadlineExceeded);
  // Request 13 writes other blocks; its layer queues behind 11's and 12's.
  LayerPusher::Target other = target_;
  other.target.block_ids = {0, 2, 7};
  other.notification = "req-13";
  pusher_->expect(13, other);
  pusher_->on_layer(0, step(13));
  for (int i = 0; i < 3; ++i) gates_[i].set_value();
  ASSERT_TRUE(
      pusher_->finish(13, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(5), here).ok());
  EXPECT_TRUE(landed(0, 0, 0) && landed(0, 2, 2) && landed(0, 7, 3));
  EXPECT_TRUE(untouched(0, 6) && untouched(0, 1) && untouched(0, 4));  // 11's and 12's blocks
}

TEST_F(LayerPusherTest, ChunkPushesTheBlocksItCompletes) {
  pusher_->expect(13, target_);
  // Chunk 1: tokens 0..33 complete blocks 0 and 1 (of 16 tokens).
  runner::StepBatch chunk = step(13);
  chunk.seqs[0].input_ids.resize(34);
  chunk.seqs[0].sample = false;
  pusher_->on_layer(0, chunk);
  pusher_->on_layer(1, chunk);
  gates_[0].set_value();
  gates_[1].set_value();
  for (int l = 0; l < kLayers; ++l) {
    auto note = decode_->wait_notification(seconds(5));
    ASSERT_TRUE(note.ok());
    EXPECT_EQ(note->payload, "");
  }
  EXPECT_TRUE(landed(0, 6, 0) && landed(0, 1, 2) && landed(1, 6, 0) && landed(1, 1, 2));
  EXPECT_TRUE(untouched(0, 4) && untouched(1, 4));
  // The last step (tokens 34..39) pushes the third block only.
  const runner::StepBatch last = step(13, 34);
  pusher_->on_layer(0, last);
  pusher_->on_layer(1, last);
  gates_[2].set_value();
  gates_[3].set_value();
  std::atomic<bool> gone{false};
  auto pushed = pusher_->finish(13, {0, 2, 3}, std::chrono::steady_clock::now() + seconds(5), gone);
  ASSERT_TRUE(pushed.ok()) << pushed.status().to_string();
  EXPECT_EQ(pushed->layers_during_prefill, 2 * kLayers);
  EXPECT_EQ(pushed->layers_after, 0);
  EXPECT_EQ(pushed->bytes, 2 * 3 * kBlockBytes);  // every block once per layer
  EXPECT_TRUE(landed(0, 4, 3) && landed(1, 4, 3));
  EXPECT_EQ(decode_->wait_notification(seconds(5))->payload, "");
  EXPECT_EQ(decode_->wait_notification(seconds(5))->payload, "req-1");
}

TEST_F(LayerPusherTest, StepsThatCompleteNoBlockOrAreOthersQueueNothing) {
  pusher_->expect(11, target_);
  pusher_->on_layer(0, step(12));
  runner::StepBatch mid = step(11);
  mid.seqs[0].input_ids.resize(10);  // a chunk inside the first block
  mid.seqs[0].sample = false;
  pusher_->on_layer(0, mid);
  pusher_->on_layer(1, mid);
  EXPECT_EQ(num_marks_, 0);
  pusher_->forget(11);
}

}  // namespace
}  // namespace pdserve::prefill
