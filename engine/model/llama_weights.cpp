#include "engine/model/llama_weights.h"

#include <algorithm>
#include <string>

#include "engine/model/safetensors_header.h"

namespace pdserve::model {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

bool is_float(backend::DType dtype) {
  return dtype == backend::DType::kF32 || dtype == backend::DType::kF16 ||
         dtype == backend::DType::kBF16;
}

// Finds and checks tensors by name against the config's shapes.
class Binder {
 public:
  Binder(const Checkpoint& checkpoint, const ModelConfig& config)
      : checkpoint_(checkpoint), config_(config) {}

  Result<TensorView> require(const std::string& name, std::vector<int64_t> shape,
                             const char* why = nullptr) const {
    const TensorView* t = checkpoint_.find(name);
    if (t == nullptr) {
      std::string message = checkpoint_.source() + ": tensor \"" + name +
                            "\" is missing (expected shape " + shape_text(shape) + ", " +
                            config_.architecture_name;
      if (why != nullptr) message += std::string(", ") + why;
      return not_found(message + ")");
    }
    if (t->shape != shape) {
      return invalid_argument(t->file + ": tensor \"" + name + "\": expected shape " +
                              shape_text(shape) + ", found " + shape_text(t->shape));
    }
    if (!is_float(t->dtype)) {
      return invalid_argument(t->file + ": tensor \"" + name + "\": dtype " +
                              safetensors_dtype_name(t->dtype) +
                              " is not a float type (supported: F32, F16, BF16)");
    }
    return *t;
  }

  Status optional(bool wanted, const std::string& name, std::vector<int64_t> shape,
                  std::optional<TensorView>& out, const char* why) const {
    if (!wanted) return ok_status();
    PD_ASSIGN_OR_RETURN(TensorView t, require(name, std::move(shape), why));
    out = std::move(t);
    return ok_status();
  }

 private:
  const Checkpoint& checkpoint_;
  const ModelConfig& config_;
};

Result<LayerWeights> bind_layer(const Binder& b, const ModelConfig& c, int layer_idx) {
  const std::string p = "model.layers." + std::to_string(layer_idx) + ".";
  const int64_t hidden = c.hidden_size;
  const int64_t q_dim = int64_t{c.num_heads} * c.head_dim;
  const int64_t kv_dim = int64_t{c.num_kv_heads} * c.head_dim;
  const int64_t inter = c.intermediate_size;
  const char* attention_bias =
      c.architecture == Architecture::kQwen2 ? "Qwen2 has q/k/v bias" : "attention_bias is true";
  LayerWeights w;
  PD_ASSIGN_OR_RETURN(w.input_norm, b.require(p + "input_layernorm.weight", {hidden}));
  PD_ASSIGN_OR_RETURN(w.q_proj, b.require(p + "self_attn.q_proj.weight", {q_dim, hidden}));
  PD_ASSIGN_OR_RETURN(w.k_proj, b.require(p + "self_attn.k_proj.weight", {kv_dim, hidden}));
  PD_ASSIGN_OR_RETURN(w.v_proj, b.require(p + "self_attn.v_proj.weight", {kv_dim, hidden}));
  PD_ASSIGN_OR_RETURN(w.o_proj, b.require(p + "self_attn.o_proj.weight", {hidden, q_dim}));
  PD_RETURN_IF_ERROR(
      b.optional(c.qkv_bias, p + "self_attn.q_proj.bias", {q_dim}, w.q_bias, attention_bias));
  PD_RETURN_IF_ERROR(
      b.optional(c.qkv_bias, p + "self_attn.k_proj.bias", {kv_dim}, w.k_bias, attention_bias));
  PD_RETURN_IF_ERROR(
      b.optional(c.qkv_bias, p + "self_attn.v_proj.bias", {kv_dim}, w.v_bias, attention_bias));
  PD_RETURN_IF_ERROR(b.optional(c.o_bias, p + "self_attn.o_proj.bias", {hidden}, w.o_bias,
                                "attention_bias is true"));
  PD_RETURN_IF_ERROR(b.optional(c.qk_norm, p + "self_attn.q_norm.weight", {c.head_dim}, w.q_norm,
                                "Qwen3 has q/k norms"));
  PD_RETURN_IF_ERROR(b.optional(c.qk_norm, p + "self_attn.k_norm.weight", {c.head_dim}, w.k_norm,
                                "Qwen3 has q/k norms"));
  PD_ASSIGN_OR_RETURN(w.post_attention_norm,
                      b.require(p + "post_attention_layernorm.weight", {hidden}));
  PD_ASSIGN_OR_RETURN(w.gate_proj, b.require(p + "mlp.gate_proj.weight", {inter, hidden}));
  PD_ASSIGN_OR_RETURN(w.up_proj, b.require(p + "mlp.up_proj.weight", {inter, hidden}));
  PD_ASSIGN_OR_RETURN(w.down_proj, b.require(p + "mlp.down_proj.weight", {hidden, inter}));
  PD_RETURN_IF_ERROR(
      b.optional(c.mlp_bias, p + "mlp.gate_proj.bias", {inter}, w.gate_bias, "mlp_bias is true"));
  PD_RETURN_IF_ERROR(
      b.optional(c.mlp_bias, p + "mlp.up_proj.bias", {inter}, w.up_bias, "mlp_bias is true"));
  PD_RETURN_IF_ERROR(
      b.optional(c.mlp_bias, p + "mlp.down_proj.bias", {hidden}, w.down_bias, "mlp_bias is true"));
  return w;
}

}  // namespace

Result<LlamaWeights> bind_llama_weights(const Checkpoint& checkpoint, const ModelConfig& config) {
  Binder b(checkpoint, config);
  const int64_t vocab = config.vocab_size;
  const int64_t hidden = config.hidden_size;
  LlamaWeights w;
  PD_ASSIGN_OR_RETURN(w.embed_tokens, b.require("model.embed_tokens.weight", {vocab, hidden}));
  // num_hidden_layers comes from the file; each layer needs 9 tensors, so a
  // checkpoint holds at most tensors().size() of them.
  w.layers.reserve(std::min(static_cast<size_t>(config.num_layers), checkpoint.tensors().size()));
  for (int i = 0; i < config.num_layers; ++i) {
    PD_ASSIGN_OR_RETURN(LayerWeights layer, bind_layer(b, config, i));
    w.layers.push_back(std::move(layer));
  }
  PD_ASSIGN_OR_RETURN(w.final_norm, b.require("model.norm.weight", {hidden}));
  if (config.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;  // a stored lm_head.weight is ignored, as transformers does
  } else {
    PD_ASSIGN_OR_RETURN(
        w.lm_head, b.require("lm_head.weight", {vocab, hidden}, "tie_word_embeddings is false"));
  }
  return w;
}

}  // namespace pdserve::model
