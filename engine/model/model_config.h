// The model's shape and hyper-parameters, read from a Hugging Face checkpoint
// folder (config.json, plus generation_config.json when present).
//
// Supported: the Llama family as transformers writes it: LlamaForCausalLM
// (Llama 2, 3, 3.1, 3.2), MistralForCausalLM, Qwen2ForCausalLM (Qwen2, 2.5:
// q/k/v bias), Qwen3ForCausalLM (q/k RMSNorm). GQA, MQA and MHA.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/dtype.h"

namespace pdserve::model {

enum class Architecture { kLlama, kMistral, kQwen2, kQwen3 };

enum class RopeScalingType { kNone, kLinear, kDynamic, kLlama3, kYarn };

// rope_scaling of config.json ("rope_type" or the older "type").
struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3, yarn, dynamic: the context the model was trained with.
  int original_max_position_embeddings = 0;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  std::optional<double> attention_factor;
  bool truncate = true;  // yarn: round the correction range to integers (HF default)
};

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  std::string architecture_name;  // as in config.json, e.g. "LlamaForCausalLM"

  int vocab_size = 0;
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;    // num_hidden_layers
  int num_heads = 0;     // num_attention_heads
  int num_kv_heads = 0;  // num_key_value_heads (defaults to num_heads)
  int head_dim = 0;      // head_dim when given, else hidden_size / num_heads
  int max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int sliding_window = 0;  // 0: full attention (Mistral may set it)

  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2, or Llama's attention_bias
  bool o_bias = false;    // Llama's attention_bias
  bool mlp_bias = false;  // Llama's mlp_bias
  bool qk_norm = false;   // Qwen3: RMSNorm over each head of q and k before RoPE
  backend::DType torch_dtype = backend::DType::kBF16;  // the checkpoint's declared dtype

  std::optional<int> bos_token_id;
  std::vector<int> eos_token_ids;  // generation_config.json's first, else config.json's
};

// Reads dir/config.json and, when present, dir/generation_config.json.
// Fails with a one-line message naming the file and the field for: a missing
// or unreadable file, invalid JSON, an unsupported architecture or
// hidden_act (the message lists what is supported), a missing or
// out-of-range value, an inconsistent shape (hidden_size not divisible by
// num_attention_heads without head_dim, num_attention_heads not divisible
// by num_key_value_heads), an unknown rope_scaling type.
Result<ModelConfig> load_model_config(const std::filesystem::path& dir);

// Same, from the text of config.json and (optionally) generation_config.json.
// `source` names the folder in messages.
Result<ModelConfig> parse_model_config(const std::string& config_json,
                                       const std::optional<std::string>& generation_config_json,
                                       const std::string& source);

}  // namespace pdserve::model
