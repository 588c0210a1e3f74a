#include "structured/utf8_ranges.h"

#include <gtest/gtest.h>

namespace pdserve::structured {
namespace {

bool seq_matches(const ByteRangeSeq& seq, const std::string& bytes) {
  if (seq.size() != bytes.size()) return false;
  for (size_t i = 0; i < seq.size(); ++i) {
    auto b = static_cast<uint8_t>(bytes[i]);
    if (b < seq[i].lo || b > seq[i].hi) return false;
  }
  return true;
}

// Every code point (surrogates aside) is matched by exactly one sequence when
// it is in the range, by none otherwise; sequences match only valid UTF-8.
void check_range(CodepointRange range) {
  std::vector<ByteRangeSeq> seqs = utf8_sequences(range);
  for (uint32_t cp = 0; cp <= kMaxCodepoint; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string bytes = encode_utf8(cp);
    int hits = 0;
    for (const ByteRangeSeq& s : seqs) hits += seq_matches(s, bytes) ? 1 : 0;
    bool inside = cp >= range.lo && cp <= range.hi;
    ASSERT_EQ(hits, inside ? 1 : 0) << "cp " << cp << " range " << range.lo << ".." << range.hi;
  }
  // No sequence admits a surrogate's 3-byte encoding (ED A0..BF xx).
  for (const ByteRangeSeq& s : seqs) {
    if (s.size() == 3 && s[0].lo <= 0xED && s[0].hi >= 0xED) {
      EXPECT_LE(s[1].hi, 0x9F);
    }
  }
}

TEST(Utf8Ranges, SequencesMatchExactlyTheRange) {
  check_range({0, kMaxCodepoint});
  check_range({0x41, 0x5A});
  check_range({0x7F, 0x80});
  check_range({0x7FF, 0x10000});
  check_range({0xD000, 0xE100});
  check_range({0x1234, 0x1234});
  check_range({0x3FF, 0x10FFFE});
}

TEST(Utf8Ranges, EncodeDecodeRoundTrip) {
  for (uint32_t cp : {0x0u, 0x41u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    std::string s = encode_utf8(cp);
    size_t idx = 0;
    uint32_t back = 0;
    ASSERT_TRUE(decode_utf8(s, &idx, &back));
    EXPECT_EQ(back, cp);
    EXPECT_EQ(idx, s.size());
  }
}

TEST(Utf8Ranges, DecodeRejectsInvalid) {
  for (std::string bad : {std::string("\x80"), std::string("\xC0\x80"), std::string("\xED\xA0\x80"),
                          std::string("\xF4\x90\x80\x80"), std::string("\xE2\x82")}) {
    size_t idx = 0;
    uint32_t cp = 0;
    EXPECT_FALSE(decode_utf8(bad, &idx, &cp)) << bad;
    EXPECT_EQ(idx, 0u);
  }
}

TEST(Expr, RangeAlgebra) {
  auto n = normalize_ranges({{10, 20}, {15, 30}, {0xD700, 0xE000}, {40, 39}});
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(n[0].lo, 10u);
  EXPECT_EQ(n[0].hi, 30u);
  EXPECT_EQ(n[1].hi, 0xD7FFu);
  EXPECT_EQ(n[2].lo, 0xE000u);
  auto c = complement_ranges({{0, 9}, {11, kMaxCodepoint}});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].lo, 10u);
  EXPECT_EQ(c[0].hi, 10u);
  auto s = subtract_ranges({{'a', 'z'}}, {{'c', 'x'}});
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].hi, static_cast<uint32_t>('b'));
  EXPECT_EQ(s[1].lo, static_cast<uint32_t>('y'));
}

}  // namespace
}  // namespace pdserve::structured
