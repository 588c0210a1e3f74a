// qkv -> optional q/k RMSNorm -> RoPE -> K,V into their paged slots, q out.
#include <cmath>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"

namespace pdserve::backend::cpu {
namespace {

void head_rmsnorm(float* x, const float* w, float eps, int d) {
  float sum = 0.0f;
  for (int j = 0; j < d; ++j) sum += x[j] * x[j];
  float inv = 1.0f / std::sqrt(sum / static_cast<float>(d) + eps);
  for (int j = 0; j < d; ++j) x[j] = w[j] * (x[j] * inv);
}

// Rotates (x[i], x[i + half]) for i < half, the "rotate half" layout.
void rotate(float* x, const float* cos, const float* sin, int half) {
  for (int i = 0; i < half; ++i) {
    float a = x[i], b = x[i + half];
    x[i] = a * cos[i] - b * sin[i];
    x[i + half] = b * cos[i] + a * sin[i];
  }
}

}  // namespace

void CpuBackend::qkv_rope_write_kv(const Tensor& qkv, const QkvLayout& layout, const Tensor* q_norm,
                                   const Tensor* k_norm, float norm_eps, const RopeParams& rope,
                                   const Tensor& positions, const Tensor& slot_mapping, KvLayer& kv,
                                   Tensor& q_out) {
  const int64_t n = qkv.dim(0);
  const int hd = layout.head_dim, half = hd / 2;
  PD_CHECK(qkv.dtype() == DType::kF32 && qkv.dim(1) == layout.width() && q_out.dim(0) == n &&
           q_out.dim(1) == layout.q_dim() && positions.numel() == n && slot_mapping.numel() == n &&
           rope.inv_freq.numel() == half && kv.data.dim(3) == layout.kv_dim() &&
           kv.data.dim(2) == kv.block_size)
      << "qkv_rope_write_kv: qkv " << qkv.shape().to_string() << " q_out "
      << q_out.shape().to_string() << " kv " << kv.data.shape().to_string() << " inv_freq "
      << rope.inv_freq.shape().to_string();
  PD_CHECK((q_norm == nullptr) == (k_norm == nullptr)) << "q_norm and k_norm go together";
  const float* inv_freq = rope.inv_freq.as<float>();
  const int64_t num_slots = static_cast<int64_t>(kv.num_blocks()) * kv.block_size;
  const size_t elem = dtype_size(kv.data.dtype());
  pool_.parallel_for(n, 1, [&](int64_t b, int64_t e) {
    std::vector<float> row(static_cast<size_t>(layout.width()));
    std::vector<float> cos(static_cast<size_t>(half)), sin(static_cast<size_t>(half));
    for (int64_t t = b; t < e; ++t) {
      const float pos = static_cast<float>(positions.as<int32_t>()[t]);
      for (int i = 0; i < half; ++i) {
        float angle = pos * inv_freq[i];
        cos[i] = std::cos(angle) * rope.attention_scaling;
        sin[i] = std::sin(angle) * rope.attention_scaling;
      }
      const float* src = qkv.as<float>() + t * layout.width();
      std::copy(src, src + layout.width(), row.begin());
      float* q = row.data();
      float* k = q + layout.q_dim();
      const float* v = k + layout.kv_dim();
      for (int h = 0; h < layout.num_heads; ++h) {
        if (q_norm) head_rmsnorm(q + h * hd, q_norm->as<float>(), norm_eps, hd);
        rotate(q + h * hd, cos.data(), sin.data(), half);
      }
      for (int h = 0; h < layout.num_kv_heads; ++h) {
        if (k_norm) head_rmsnorm(k + h * hd, k_norm->as<float>(), norm_eps, hd);
        rotate(k + h * hd, cos.data(), sin.data(), half);
      }
      std::copy(q, q + layout.q_dim(), q_out.as<float>() + t * layout.q_dim());
      const int32_t slot = slot_mapping.as<int32_t>()[t];
      if (slot < 0) continue;
      PD_CHECK(slot < num_slots) << "slot " << slot << " outside the KV pool of " << num_slots;
      const int64_t block = slot / kv.block_size, off = slot % kv.block_size;
      char* base = static_cast<char*>(kv.data.data());
      const size_t kv_row = static_cast<size_t>(layout.kv_dim()) * elem;
      char* kdst = base + ((block * 2 + 0) * kv.block_size + off) * kv_row;
      char* vdst = base + ((block * 2 + 1) * kv.block_size + off) * kv_row;
      from_f32(kv.data.dtype(), k, kdst, static_cast<size_t>(layout.kv_dim()));
      from_f32(kv.data.dtype(), v, vdst, static_cast<size_t>(layout.kv_dim()));
    }
  });
}

}  // namespace pdserve::backend::cpu
