// exp_lanes (the CPU attention's softmax exp) against the correctly rounded
// e^x: within 2 ulp over the normal range, exact at the ends it promises.
#include "engine/backend/cpu/exp_lanes.h"

#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace pdserve::backend::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// e^x for each x, four at a time, each value in a different lane position.
std::vector<float> exp_all(const std::vector<float>& xs) {
  std::vector<float> out(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) {
    F4 v = {xs[(i + 1) % xs.size()], xs[i], xs[(i + 2) % xs.size()], xs[(i + 3) % xs.size()]};
    out[i] = exp_lanes(v)[1];
  }
  return out;
}

int64_t ulps(float got, float want) {
  return std::abs(static_cast<int64_t>(std::bit_cast<int32_t>(got)) -
                  static_cast<int64_t>(std::bit_cast<int32_t>(want)));
}

TEST(ExpLanesTest, WithinTwoUlpOverTheNormalRange) {
  const float lo = std::log(FLT_MIN), hi = std::log(FLT_MAX);
  std::vector<float> xs;
  for (int i = 0; i <= 1'000'000; ++i) xs.push_back(lo + (hi - lo) * static_cast<float>(i) / 1e6f);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> small(-1.0f, 1.0f);
  for (int i = 0; i < 200'000; ++i) xs.push_back(small(rng));  // softmax's usual range
  for (int i = 0; i < 170; ++i) {  // tiny magnitudes up to 0.9, both signs
    const float x = 1e-30f * std::pow(1.5f, static_cast<float>(i));
    xs.push_back(x);
    xs.push_back(-x);
  }
  xs.push_back(0.0f);
  xs.push_back(-0.0f);
  xs.push_back(lo);
  xs.push_back(std::nextafter(hi, 0.0f));
  const std::vector<float> got = exp_all(xs);
  int64_t worst = 0;
  float worst_x = 0.0f;
  for (size_t i = 0; i < xs.size(); ++i) {
    const float want = static_cast<float>(std::exp(static_cast<double>(xs[i])));
    if (ulps(got[i], want) > worst) {
      worst = ulps(got[i], want);
      worst_x = xs[i];
    }
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_x;
  EXPECT_EQ(exp_all({0.0f})[0], 1.0f);
  EXPECT_EQ(exp_all({-0.0f})[0], 1.0f);
}

TEST(ExpLanesTest, ZeroBelowTheNormalRangeInfinityAboveNanForNan) {
  const float lo = std::log(FLT_MIN);
  const std::vector<float> below = {-kInf,   -1e30f, -1000.0f,
                                    -104.0f, -88.0f, std::nextafter(lo, -kInf)};
  for (float e : exp_all(below)) EXPECT_EQ(std::bit_cast<uint32_t>(e), 0u);  // +0 exactly
  const std::vector<float> above = {std::nextafter(std::log(FLT_MAX), kInf), 89.0f, 1000.0f, kInf};
  for (float e : exp_all(above)) EXPECT_EQ(e, kInf);
  EXPECT_TRUE(std::isnan(exp_all({std::numeric_limits<float>::quiet_NaN()})[0]));
}

// The result of a lane depends on that lane's input only.
TEST(ExpLanesTest, LanesAreIndependent) {
  const F4 a = exp_lanes(F4{-3.5f, -kInf, 0.25f, -80.0f});
  const F4 b = exp_lanes(F4{-3.5f, 1.0f, -kInf, 7.0f});
  EXPECT_EQ(std::bit_cast<uint32_t>(a[0]), std::bit_cast<uint32_t>(b[0]));
  EXPECT_EQ(a[1], 0.0f);
  EXPECT_EQ(b[2], 0.0f);
}

}  // namespace
}  // namespace pdserve::backend::cpu
