// The cuda_ipc control messages and their fragments (std only: runs in every build).
#include "kvtransfer/cuda_ipc_wire.h"

#include <gtest/gtest.h>

#include <cstring>

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

Message ops_message(size_t num_ops) {
  Message m;
  m.verb = Verb::kOps;
  m.transfer_id = 7;
  m.epoch = 42;
  for (size_t i = 0; i < num_ops; ++i) m.ops.push_back({0, 0, i % 32, i * 65536, 65536});
  return m;
}

TEST(CudaIpcWireTest, EveryFieldRoundTrips) {
  Message m = ops_message(3);
  m.code = StatusCode::kOutOfRange;
  m.text = std::string("payload\0with nul", 16);
  m.device = "0000:19:00.0";
  m.regions.push_back({5, 1 << 20, std::string(kIpcHandleLen, '\x7f'), 4096});
  Result<Message> back = decode(encode(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->verb, Verb::kOps);
  EXPECT_EQ(back->transfer_id, 7u);
  EXPECT_EQ(back->epoch, 42u);
  EXPECT_EQ(back->code, StatusCode::kOutOfRange);
  EXPECT_EQ(back->text, m.text);
  EXPECT_EQ(back->device, m.device);
  ASSERT_EQ(back->ops.size(), 3u);
  EXPECT_EQ(back->ops[2].remote_region, 2u);
  EXPECT_EQ(back->ops[2].remote_offset, 2u * 65536);
  EXPECT_EQ(back->ops[2].len, 65536u);
  ASSERT_EQ(back->regions.size(), 1u);
  EXPECT_EQ(back->regions[0].id, 5u);
  EXPECT_EQ(back->regions[0].offset, 4096u);
  EXPECT_EQ(back->regions[0].handle, m.regions[0].handle);
}

TEST(CudaIpcWireTest, StatusMessagesCarryTheStatus) {
  Message go = status_message(Verb::kGo, 9, permission_denied("no grant for epoch 3"));
  Result<Message> back = decode(encode(go));
  ASSERT_TRUE(back.ok());
  Status s = message_status(*back);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "no grant for epoch 3");
  EXPECT_TRUE(
      message_status(decode(encode(status_message(Verb::kAck, 9, ok_status()))).value()).ok());
}

TEST(CudaIpcWireTest, MalformedMessagesAreRefused) {
  const std::string good = encode(ops_message(2));
  EXPECT_FALSE(decode("").ok());
  EXPECT_FALSE(decode(good.substr(0, good.size() - 1)).ok());  // truncated
  EXPECT_FALSE(decode(good + "x").ok());                       // trailing bytes
  std::string bad_verb = good;
  bad_verb[0] = 'Z';
  EXPECT_FALSE(decode(bad_verb).ok());
  Message wrong_handle;
  wrong_handle.verb = Verb::kRegions;
  wrong_handle.regions.push_back({1, 10, "short", 0});
  EXPECT_FALSE(decode(encode(wrong_handle)).ok());
  // A huge op count is refused before anything is allocated for it.
  std::string huge = encode(Message{});
  const size_t num_ops_at = 8 * 4 + 8 + 8;  // verb, transfer, epoch, code; two empty strings
  uint64_t n = uint64_t{1} << 60;
  std::memcpy(huge.data() + num_ops_at, &n, sizeof(n));
  EXPECT_FALSE(decode(huge).ok());
}

TEST(CudaIpcWireTest, ScatteredBlockListsFitOneFragment) {
  Message m = ops_message(0);
  for (uint64_t i = 0; i < 256; ++i) m.ops.push_back({0, 0, 1, i * 131072, 65536});
  EXPECT_EQ(fragment(encode(m)).size(), 1u);  // 7 bytes an op
  EXPECT_EQ(decode(encode(m)).value().ops.back().remote_offset, 255u * 131072);
}

TEST(CudaIpcWireTest, OpsRoundTripAtTheEdges) {
  Message m = ops_message(0);
  const uint64_t max = ~0ull;
  m.ops = {{0, 0, max, max - 1, 1}, {0, 0, 0, 0, max}, {0, 0, 3, 4096, 16},
           {0, 0, 3, 0, 16},        {0, 0, 3, max, 1}, {0, 0, 1ull << 63, 1ull << 63, 1ull << 62}};
  Result<Message> back = decode(encode(m));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_EQ(back->ops.size(), m.ops.size());
  for (size_t i = 0; i < m.ops.size(); ++i) {
    EXPECT_EQ(back->ops[i].remote_region, m.ops[i].remote_region) << i;
    EXPECT_EQ(back->ops[i].remote_offset, m.ops[i].remote_offset) << i;
    EXPECT_EQ(back->ops[i].len, m.ops[i].len) << i;
  }
}

TEST(CudaIpcWireTest, OverlongVarintsAreRefused) {
  Message m = ops_message(0);
  m.ops.push_back({0, 0, 5, 0, 16});
  const std::string one_op = encode(m);
  const size_t op_at = one_op.size() - 8 - 3;  // the op's three 1-byte varints, the region count
  std::string overlong =
      one_op.substr(0, op_at) + std::string(10, '\xff') + '\x01' + one_op.substr(op_at + 1);
  EXPECT_FALSE(decode(overlong).ok());  // 11 bytes
  std::string past64 =
      one_op.substr(0, op_at) + std::string(9, '\xff') + '\x02' + one_op.substr(op_at + 1);
  EXPECT_FALSE(decode(past64).ok());  // a 65th bit
  std::string max64 =
      one_op.substr(0, op_at) + std::string(9, '\xff') + '\x01' + one_op.substr(op_at + 1);
  ASSERT_TRUE(decode(max64).ok());
  EXPECT_EQ(decode(max64)->ops[0].remote_region, ~0ull);
}

TEST(CudaIpcWireTest, LongMessagesTravelAsFragmentsAndReassemble) {
  const std::string whole = encode(ops_message(4096));  // ~28 KB
  std::vector<std::string> pieces = fragment(whole);
  ASSERT_GT(pieces.size(), 10u);
  Reassembler r;
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_LE(pieces[i].size(), kMaxNotificationLen);
    Result<std::string> out = r.add(pieces[i]);
    ASSERT_TRUE(out.ok());
    if (i + 1 < pieces.size()) {
      EXPECT_TRUE(out->empty());
    } else {
      EXPECT_EQ(*out, whole);
    }
  }
  // A short message is one fragment, and the reassembler starts afresh.
  const std::string ping = encode(Message{});
  ASSERT_EQ(fragment(ping).size(), 1u);
  EXPECT_EQ(r.add(fragment(ping)[0]).value(), ping);
}

TEST(CudaIpcWireTest, ReassemblerRefusesBadFragmentsAndOversizeMessages) {
  Reassembler r;
  EXPECT_FALSE(r.add("").ok());
  EXPECT_FALSE(r.add("\x05xyz").ok());
  const std::string more(kMaxNotificationLen, 'a');
  std::string piece = more;
  piece[0] = '\1';
  Status s;
  for (size_t sent = 0; s.ok() && sent <= kMaxMessageLen + kMaxNotificationLen;
       sent += piece.size() - 1) {
    s = r.add(piece).status();
  }
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  // Dropped: the next message reassembles on its own.
  const std::string ping = encode(Message{});
  EXPECT_EQ(r.add(fragment(ping)[0]).value(), ping);
}

}  // namespace
}  // namespace pdserve::kvtransfer::cuda_ipc
