// RegionTable's pins: counted per transfer, and one pin per region for a
// whole op list (pin_hulls).
#include "kvtransfer/region_table.h"

#include <gtest/gtest.h>

#include <vector>

namespace pdserve::kvtransfer {
namespace {

class RegionTableTest : public ::testing::Test {
 protected:
  uint64_t add(std::vector<char>& memory) {
    Region r;
    r.addr = memory.data();
    r.len = memory.size();
    return table_.add(r);
  }
  std::vector<char> a_ = std::vector<char>(1 << 20);
  std::vector<char> b_ = std::vector<char>(4096);
  RegionTable table_;
};

TEST_F(RegionTableTest, ATransfersPinsCountUntilItsLastIsReleased) {
  const uint64_t id = add(a_);
  RegionPin first = table_.pin(id, 0, 64, 7).value();
  RegionPin second = table_.pin(id, 64, 64, 7).value();
  ASSERT_TRUE(table_.begin_remove(id).ok());
  EXPECT_EQ(table_.pinning_transfers(id), (std::vector<uint64_t>{7, 7}));
  first.release();
  EXPECT_EQ(table_.pinning_transfers(id), std::vector<uint64_t>{7});
  EXPECT_EQ(table_.finish_remove(id, std::chrono::milliseconds(0)).status().code(),
            StatusCode::kDeadlineExceeded);
  second.release();
  EXPECT_TRUE(table_.pinning_transfers(id).empty());
  EXPECT_TRUE(table_.finish_remove(id, std::chrono::milliseconds(0)).ok());
}

TEST_F(RegionTableTest, HullsPinEachRegionOnceAndAddressEveryRange) {
  const uint64_t a = add(a_);
  const uint64_t b = add(b_);
  std::vector<GrantRange> ranges;
  for (uint64_t i = 0; i < 256; ++i) ranges.push_back({a, (255 - i) * 4096, 2048});
  ranges.push_back({b, 1024, 16});
  Result<std::vector<RegionPin>> pins = table_.pin_hulls(ranges, 9);
  ASSERT_TRUE(pins.ok()) << pins.status().to_string();
  ASSERT_EQ(pins->size(), 2u);
  EXPECT_EQ((*pins)[0].region().id, a);
  EXPECT_EQ((*pins)[0].data(), a_.data());  // the hull starts at the lowest range
  EXPECT_EQ((*pins)[1].data(), b_.data() + 1024);
  EXPECT_EQ(pinned_address(*pins, a, 8192), a_.data() + 8192);
  EXPECT_EQ(pinned_address(*pins, b, 16), b_.data() + 16);
  EXPECT_EQ(pinned_address(*pins, b + 1, 0), nullptr);
  ASSERT_TRUE(table_.begin_remove(b).ok());
  EXPECT_EQ(table_.pinning_transfers(b), std::vector<uint64_t>{9});
  pins->clear();
  EXPECT_TRUE(table_.finish_remove(b, std::chrono::milliseconds(0)).ok());
}

TEST_F(RegionTableTest, HullsPinNothingWhenOneRangeIsBad) {
  const uint64_t a = add(a_);
  const uint64_t b = add(b_);
  EXPECT_EQ(table_.pin_hulls({{a, 0, 64}, {b, 4000, 200}}, 3).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(table_.pin_hulls({{a, 0, 64}, {b + 7, 0, 1}}, 3).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(table_.begin_remove(a).ok());
  EXPECT_TRUE(table_.pinning_transfers(a).empty());
  EXPECT_EQ(table_.pin_hulls({{a, 0, 64}}, 3).status().code(), StatusCode::kNotFound);  // dying
}

}  // namespace
}  // namespace pdserve::kvtransfer
