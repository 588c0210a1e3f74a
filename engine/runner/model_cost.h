// What a forward pass of a model must at least move and compute: the floors
// the benchmarks put beside their figures (METHOD.md: a figure is a ratio
// to the physical limit measured in the same run).
//
//   decode step: every layer weight, the final norm and the LM head read
//                once, one embedding row per token (an untied model's table
//                is not read in full), the KV of every sequence;
//   prefill:     2 FLOPs per matmul parameter per token, the LM head for the
//                last token only, causal attention as half of the full
//                QK^T and PV matrices.
#pragma once

#include <cstdint>

#include "engine/model/model_config.h"

namespace pdserve::runner {

class LlmRunner;

class ModelCost {
 public:
  // weight_bytes: the model's weights as loaded; *_elt_bytes: the element
  // sizes of the weights and of the KV cache.
  ModelCost(const model::ModelConfig& c, double weight_bytes, double weight_elt_bytes,
            double kv_elt_bytes);
  static ModelCost of(const LlmRunner& r);

  // Bytes one decode step of `batch` sequences reads at mean context `ctx`.
  double decode_step_bytes(double batch, double ctx) const;
  // FLOPs of decoding one token at context `ctx`.
  double decode_token_flops(double ctx) const;
  // FLOPs of prefilling `tokens` new tokens after `cached` ones of one
  // sequence, logits for its last token only.
  double prefill_flops(double tokens, double cached = 0) const;
  // KV bytes one token adds (all layers, K and V).
  double kv_bytes_per_token() const { return kv_bytes_per_token_; }
  // The weights one decode step reads whatever its batch.
  double step_weight_bytes() const { return step_weight_bytes_; }
  // The embedding row each decoded token reads.
  double embedding_row_bytes() const { return embedding_row_bytes_; }

 private:
  double layer_params_total_;  // every layer's matmul parameters
  double lm_head_params_;
  double step_weight_bytes_;
  double embedding_row_bytes_;
  double kv_bytes_per_token_;
  double attention_width_;  // num_layers * num_heads * head_dim
};

}  // namespace pdserve::runner
