// RoPE inverse frequencies and the cos/sin scaling for every rope_scaling
// type of model_config.h, computed as Hugging Face transformers does
// (modeling_rope_utils), in double and rounded once to float.
#pragma once

#include <vector>

#include "engine/model/model_config.h"

namespace pdserve::model {

struct RopeTable {
  std::vector<float> inv_freq;  // [head_dim / 2]
  float attention_scaling = 1.0f;
};

// The table used for a sequence whose current length is seq_len. Only the
// "dynamic" type depends on seq_len: past max_position_embeddings it
// raises the base (NTK), as transformers does at each forward.
RopeTable compute_rope(const ModelConfig& config, int seq_len = 0);

// True when compute_rope() depends on seq_len for this config and length.
bool rope_depends_on_length(const ModelConfig& config, int seq_len);

}  // namespace pdserve::model
