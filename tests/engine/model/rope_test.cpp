#include "engine/model/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace pdserve::model {
namespace {

ModelConfig base_config() {
  ModelConfig c;
  c.head_dim = 64;
  c.rope_theta = 500000.0;
  c.max_position_embeddings = 8192;
  return c;
}

TEST(RopeTest, DefaultFrequenciesFollowTheBase) {
  RopeTable t = compute_rope(base_config());
  ASSERT_EQ(t.inv_freq.size(), 32u);
  EXPECT_FLOAT_EQ(t.inv_freq[0], 1.0f);
  EXPECT_FLOAT_EQ(t.inv_freq[16], static_cast<float>(1.0 / std::pow(500000.0, 0.5)));
  EXPECT_EQ(t.attention_scaling, 1.0f);
}

TEST(RopeTest, LinearDividesEveryFrequency) {
  ModelConfig c = base_config();
  c.rope_scaling.type = RopeScalingType::kLinear;
  c.rope_scaling.factor = 4.0;
  RopeTable plain = compute_rope(base_config()), t = compute_rope(c);
  for (size_t i = 0; i < t.inv_freq.size(); ++i)
    EXPECT_FLOAT_EQ(t.inv_freq[i], plain.inv_freq[i] / 4.0f);
}

TEST(RopeTest, Llama3KeepsHighFrequenciesAndScalesLowOnes) {
  ModelConfig c = base_config();
  c.rope_scaling = {RopeScalingType::kLlama3, 8.0, 1.0, 4.0, 8192};
  RopeTable plain = compute_rope(base_config()), t = compute_rope(c);
  // wavelength 2*pi/f: short wavelengths (< 8192/4) unchanged, long ones (> 8192) divided by 8.
  for (size_t i = 0; i < t.inv_freq.size(); ++i) {
    const double wavelen = 2 * std::numbers::pi / plain.inv_freq[i];
    if (wavelen < 2048) {
      EXPECT_FLOAT_EQ(t.inv_freq[i], plain.inv_freq[i]);
    }
    if (wavelen > 8192) {
      EXPECT_FLOAT_EQ(t.inv_freq[i], plain.inv_freq[i] / 8.0f);
    }
    if (wavelen >= 2048 && wavelen <= 8192) {
      EXPECT_LE(t.inv_freq[i], plain.inv_freq[i]);
      EXPECT_GE(t.inv_freq[i], plain.inv_freq[i] / 8.0f);
    }
  }
}

TEST(RopeTest, YarnScalesAttentionAndBlendsFrequencies) {
  ModelConfig c = base_config();
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 4096;
  c.rope_scaling.type = RopeScalingType::kYarn;
  c.rope_scaling.factor = 4.0;
  RopeTable plain = compute_rope([&] {
    ModelConfig p = c;
    p.rope_scaling = {};
    return p;
  }()),
            t = compute_rope(c);
  EXPECT_NEAR(t.attention_scaling, 0.1 * std::log(4.0) + 1.0, 1e-6);
  EXPECT_FLOAT_EQ(t.inv_freq[0], plain.inv_freq[0]);  // highest frequency extrapolated
  EXPECT_FLOAT_EQ(t.inv_freq.back(), plain.inv_freq.back() / 4.0f);  // lowest interpolated
}

TEST(RopeTest, DynamicChangesOnlyPastTheTrainedContext) {
  ModelConfig c = base_config();
  c.rope_scaling.type = RopeScalingType::kDynamic;
  c.rope_scaling.factor = 2.0;
  EXPECT_FALSE(rope_depends_on_length(c, 8192));
  EXPECT_TRUE(rope_depends_on_length(c, 8193));
  RopeTable plain = compute_rope(base_config());
  EXPECT_EQ(compute_rope(c, 100).inv_freq, plain.inv_freq);
  RopeTable longer = compute_rope(c, 16384);
  EXPECT_FLOAT_EQ(longer.inv_freq[0], 1.0f);
  EXPECT_LT(longer.inv_freq.back(), plain.inv_freq.back());
}

}  // namespace
}  // namespace pdserve::model
