#include "structured/number_ranges.h"

#include <gtest/gtest.h>

#include <string>

#include "structured/grammar_builder.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

Grammar grammar_of(const Expr& e) {
  Result<Grammar> g = build_single_rule(e);
  EXPECT_TRUE(g.ok()) << g.status().to_string();
  return std::move(g).value();
}

bool in_bounds(double v, const NumberBounds& b) {
  if (b.min && (b.min_exclusive ? v <= *b.min : v < *b.min)) return false;
  if (b.max && (b.max_exclusive ? v >= *b.max : v > *b.max)) return false;
  return true;
}

std::vector<NumberBounds> all_bounds() {
  std::vector<NumberBounds> out;
  std::vector<std::optional<int64_t>> values{std::nullopt, -120, -10, -1, 0, 1, 9, 10, 99, 305};
  for (auto lo : values) {
    for (auto hi : values) {
      for (int excl = 0; excl < 4; ++excl) {
        NumberBounds b{lo, hi, (excl & 1) != 0, (excl & 2) != 0};
        if (!number_range_is_empty(b)) out.push_back(b);
      }
    }
  }
  return out;
}

TEST(NumberRanges, IntegersExactly) {
  for (const NumberBounds& b : all_bounds()) {
    if (integer_range_is_empty(b)) continue;
    Grammar g = grammar_of(integer_in_range(b));
    for (int v = -400; v <= 400; ++v) {
      ASSERT_EQ(accepts(g, std::to_string(v)), in_bounds(v, b))
          << v << " in [" << b.min.value_or(-999) << "," << b.max.value_or(999) << "] excl "
          << b.min_exclusive << b.max_exclusive;
    }
    EXPECT_FALSE(accepts(g, "007"));
    EXPECT_FALSE(accepts(g, "-0"));
    EXPECT_FALSE(accepts(g, "1.5"));
  }
}

TEST(NumberRanges, NumbersWithFractions) {
  const char* texts[] = {"0",    "0.5",    "0.0",    "-0.5",  "1",     "1.0",   "1.25",
                         "9.99", "10",     "10.0",   "10.01", "-1",    "-1.0",  "-1.01",
                         "-10",  "-9.5",   "99",     "99.00", "99.01", "305",   "305.0",
                         "-120", "-120.5", "-119.9", "42.5",  "0.000", "0.001", "-0.001"};
  for (const NumberBounds& b : all_bounds()) {
    Grammar g = grammar_of(number_in_range(b));
    for (const char* t : texts) {
      ASSERT_EQ(accepts(g, t), in_bounds(std::stod(t), b))
          << t << " in [" << b.min.value_or(-999) << "," << b.max.value_or(999) << "] excl "
          << b.min_exclusive << b.max_exclusive;
    }
    EXPECT_FALSE(accepts(g, "1e5"));
  }
}

}  // namespace
}  // namespace pdserve::structured
