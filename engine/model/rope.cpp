#include "engine/model/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace pdserve::model {
namespace {

std::vector<double> default_inv_freq(double base, int dim) {
  std::vector<double> f(static_cast<size_t>(dim / 2));
  for (int i = 0; i < dim / 2; ++i) f[static_cast<size_t>(i)] = 1.0 / std::pow(base, 2.0 * i / dim);
  return f;
}

void llama3_scale(const RopeScaling& rs, std::vector<double>& inv_freq) {
  const double old_len = rs.original_max_position_embeddings;
  const double low_wavelen = old_len / rs.low_freq_factor;
  const double high_wavelen = old_len / rs.high_freq_factor;
  for (double& f : inv_freq) {
    const double wavelen = 2.0 * std::numbers::pi / f;
    if (wavelen > low_wavelen) {
      f = f / rs.factor;
    } else if (wavelen >= high_wavelen) {  // medium frequencies: smooth interpolation
      const double smooth =
          (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
      f = (1.0 - smooth) * f / rs.factor + smooth * f;
    }
  }
}

double yarn_mscale(double scale, double mscale) {
  return scale <= 1.0 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// Returns the attention scaling; rewrites inv_freq.
double yarn_scale(const ModelConfig& c, int dim, std::vector<double>& inv_freq) {
  const RopeScaling& rs = c.rope_scaling;
  double factor = rs.factor;
  double original = c.max_position_embeddings;
  if (rs.original_max_position_embeddings > 0) {
    // As transformers: the ratio of the context lengths wins over `factor`.
    original = rs.original_max_position_embeddings;
    factor = c.max_position_embeddings / original;
  }
  double attention = 0.0;
  if (rs.attention_factor) {
    attention = *rs.attention_factor;
  } else if (rs.mscale && rs.mscale_all_dim && *rs.mscale != 0.0 && *rs.mscale_all_dim != 0.0) {
    attention = yarn_mscale(factor, *rs.mscale) / yarn_mscale(factor, *rs.mscale_all_dim);
  } else {
    attention = yarn_mscale(factor, 1.0);
  }
  const double base = c.rope_theta;
  auto correction_dim = [&](double rotations) {
    return dim * std::log(original / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
  };
  double low = correction_dim(rs.beta_fast), high = correction_dim(rs.beta_slow);
  if (rs.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;
  for (int i = 0; i < dim / 2; ++i) {
    const double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    const double extrapolation_factor = 1.0 - ramp;
    const double extrapolated = inv_freq[static_cast<size_t>(i)];
    const double interpolated = extrapolated / factor;
    inv_freq[static_cast<size_t>(i)] =
        interpolated * (1.0 - extrapolation_factor) + extrapolated * extrapolation_factor;
  }
  return attention;
}

}  // namespace

bool rope_depends_on_length(const ModelConfig& c, int seq_len) {
  return c.rope_scaling.type == RopeScalingType::kDynamic && seq_len > c.max_position_embeddings;
}

RopeTable compute_rope(const ModelConfig& c, int seq_len) {
  const int dim = c.head_dim;
  const RopeScaling& rs = c.rope_scaling;
  double base = c.rope_theta;
  double attention = 1.0;
  if (rope_depends_on_length(c, seq_len)) {
    const double max_len = c.max_position_embeddings;
    base *= std::pow(rs.factor * seq_len / max_len - (rs.factor - 1.0),
                     static_cast<double>(dim) / (dim - 2));
  }
  std::vector<double> inv_freq = default_inv_freq(base, dim);
  switch (rs.type) {
    case RopeScalingType::kNone:
    case RopeScalingType::kDynamic: break;
    case RopeScalingType::kLinear:
      for (double& f : inv_freq) f /= rs.factor;
      break;
    case RopeScalingType::kLlama3: llama3_scale(rs, inv_freq); break;
    case RopeScalingType::kYarn: attention = yarn_scale(c, dim, inv_freq); break;
  }
  RopeTable t;
  t.inv_freq.assign(inv_freq.begin(), inv_freq.end());
  t.attention_scaling = static_cast<float>(attention);
  return t;
}

}  // namespace pdserve::model
