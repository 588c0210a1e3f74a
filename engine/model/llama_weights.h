// The tensors of a Llama-family model (see model_config.h), found by their
// Hugging Face names and checked against the config. Shapes are PyTorch's:
// a linear layer's weight is [out_features, in_features].
#pragma once

#include <optional>
#include <vector>

#include "common/base/status.h"
#include "engine/model/checkpoint.h"
#include "engine/model/model_config.h"

namespace pdserve::model {

struct LayerWeights {
  TensorView input_norm;  // [hidden]           model.layers.N.input_layernorm.weight
  TensorView q_proj;      // [heads*head_dim, hidden]
  TensorView k_proj;      // [kv_heads*head_dim, hidden]
  TensorView v_proj;      // [kv_heads*head_dim, hidden]
  TensorView o_proj;      // [hidden, heads*head_dim]
  std::optional<TensorView> q_bias, k_bias, v_bias;  // when config.qkv_bias
  std::optional<TensorView> o_bias;                  // when config.o_bias
  std::optional<TensorView> q_norm, k_norm;          // [head_dim], when config.qk_norm
  TensorView post_attention_norm;                    // [hidden]           post_attention_layernorm
  TensorView gate_proj;                              // [intermediate, hidden]
  TensorView up_proj;                                // [intermediate, hidden]
  TensorView down_proj;                              // [hidden, intermediate]
  std::optional<TensorView> gate_bias, up_bias, down_bias;  // when config.mlp_bias
};

struct LlamaWeights {
  TensorView embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  TensorView final_norm;  // [hidden]  model.norm.weight
  TensorView lm_head;     // [vocab, hidden]: lm_head.weight, or embed_tokens when tied
};

// Fails, naming the tensor and the file, when a tensor the architecture
// needs is missing, has the wrong shape, or has a dtype other than F32, F16,
// BF16. Tensors the architecture does not use (rotary_emb.inv_freq, ...) are
// ignored.
Result<LlamaWeights> bind_llama_weights(const Checkpoint& checkpoint, const ModelConfig& config);

}  // namespace pdserve::model
