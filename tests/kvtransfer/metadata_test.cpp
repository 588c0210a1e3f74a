#include "kvtransfer/metadata.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

TEST(MetadataTest, RoundTrips) {
  AgentMetadata md;
  md.backend = BackendKind::kUcx;
  md.name = "prefill-0";
  md.compat_key = "llama|bf16|16|nhd|tp1";
  md.address = {'\0', '\x01', '\xff', ' ', 'b'};
  md.extra = "x";
  RegionDesc region;
  region.id = 3;
  region.len = 4096;
  region.kind = MemoryKind::kDevice;
  region.addr = 0x7f0000001000;
  region.rkey = {'\0', 'r', 'k'};
  md.regions.push_back(region);
  auto parsed = AgentMetadata::parse(md.serialize());
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->backend, BackendKind::kUcx);
  EXPECT_EQ(parsed->name, md.name);
  EXPECT_EQ(parsed->compat_key, md.compat_key);
  EXPECT_EQ(parsed->address, md.address);
  ASSERT_EQ(parsed->regions.size(), 1u);
  EXPECT_EQ(parsed->regions[0].id, 3u);
  EXPECT_EQ(parsed->regions[0].len, 4096u);
  EXPECT_EQ(parsed->regions[0].kind, MemoryKind::kDevice);
  EXPECT_EQ(parsed->regions[0].addr, 0x7f0000001000u);
  EXPECT_EQ(parsed->regions[0].rkey, md.regions[0].rkey);
  EXPECT_TRUE(check_compatible(*parsed, BackendKind::kUcx, md.compat_key).ok());
  EXPECT_EQ(check_compatible(*parsed, BackendKind::kTcp, md.compat_key).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(check_compatible(*parsed, BackendKind::kUcx, "other").code(),
            StatusCode::kFailedPrecondition);
}

TEST(MetadataTest, RejectsGarbage) {
  for (const char* text : {"", "hello", "pdserve-kv x", "pdserve-kv 1\nname zz\nbackend tcp",
                           "pdserve-kv 1\nbackend tcp\nregion 1 2 3 4 5", "pdserve-kv 1\nname 00",
                           "pdserve-kv 1\nbackend warp"}) {
    EXPECT_EQ(AgentMetadata::parse(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
  auto future = AgentMetadata::parse("pdserve-kv 9\nanything");
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(check_compatible(*future, BackendKind::kTcp, "").code(),
            StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace pdserve::kvtransfer
