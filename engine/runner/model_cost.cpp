#include "engine/runner/model_cost.h"

#include "engine/runner/llm_runner.h"

namespace pdserve::runner {

ModelCost::ModelCost(const model::ModelConfig& c, double weight_bytes, double weight_elt_bytes,
                     double kv_elt_bytes) {
  const double q = static_cast<double>(c.num_heads) * c.head_dim,
               kv = static_cast<double>(c.num_kv_heads) * c.head_dim, h = c.hidden_size;
  layer_params_total_ = c.num_layers * (h * (q + 2 * kv) + q * h + 3.0 * h * c.intermediate_size);
  lm_head_params_ = static_cast<double>(c.vocab_size) * h;
  const double embedding_table = lm_head_params_ * weight_elt_bytes;
  step_weight_bytes_ = weight_bytes - (c.tie_word_embeddings ? 0.0 : embedding_table);
  embedding_row_bytes_ = h * weight_elt_bytes;
  kv_bytes_per_token_ = 2.0 * c.num_layers * kv * kv_elt_bytes;
  attention_width_ = static_cast<double>(c.num_layers) * q;
}

ModelCost ModelCost::of(const LlmRunner& r) {
  const backend::Backend& be = r.backend();
  return ModelCost(r.config(), static_cast<double>(r.model_weight_bytes()),
                   static_cast<double>(backend::dtype_size(be.weight_dtype(backend::DType::kBF16))),
                   static_cast<double>(backend::dtype_size(r.kv_cache().spec().dtype)));
}

double ModelCost::decode_step_bytes(double batch, double ctx) const {
  return step_weight_bytes_ + batch * (embedding_row_bytes_ + ctx * kv_bytes_per_token_);
}

double ModelCost::decode_token_flops(double ctx) const {
  // QK^T and PV over ctx keys: 2 FLOPs per element each.
  return 2.0 * (layer_params_total_ + lm_head_params_) + 4.0 * attention_width_ * ctx;
}

double ModelCost::prefill_flops(double tokens, double cached) const {
  // Token i (0-based among the new ones) attends to cached + i + 1 keys; the
  // sum over i is about tokens * cached + tokens^2 / 2: causal as half.
  const double keys = tokens * cached + tokens * tokens / 2.0;
  return 2.0 * layer_params_total_ * tokens + 2.0 * lm_head_params_ + 4.0 * attention_width_ * keys;
}

}  // namespace pdserve::runner
