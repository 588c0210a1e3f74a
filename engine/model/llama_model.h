// The Llama-family forward pass (Llama 2/3, Mistral, Qwen2, Qwen3), written
// once over the Backend op set. Weights are copied to the backend at load,
// with q/k/v and gate/up fused into one matrix each.
//
//   embed -> [ rmsnorm -> qkv -> (q/k norm) rope, write KV -> paged attention
//              -> o_proj -> +residual -> rmsnorm -> gate_up -> silu*up -> down
//              -> +residual ] x num_layers -> rmsnorm -> lm_head (sampled rows only)
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/backend.h"
#include "engine/model/model_config.h"

namespace pdserve::model {

// One step's inputs, already on the backend (built by the runner).
struct ForwardInputs {
  backend::Tensor token_ids;     // [n] i32
  backend::Tensor positions;     // [n] i32
  backend::Tensor slot_mapping;  // [n] i32
  backend::AttentionBatch attention;
  backend::Tensor logits_rows;  // [m] i32: rows of the batch whose logits are returned
  // logits_rows is 0, 1, ..., n - 1 (a decode step): the last residual add
  // and the final norm run as one op, with no gather.
  bool all_rows_sampled = false;
  // Host copies the model needs for per-sequence decisions (dynamic RoPE).
  std::vector<int32_t> host_query_start;   // [num_seqs + 1]
  std::vector<int32_t> host_context_lens;  // [num_seqs]
  // Called once layer `layer`'s writes of this step's K/V into its pool are
  // issued (not finished: a backend marker made here fires when they are),
  // before later layers are issued; nothing waits for the device, so the
  // layers run back to back. The prefill worker pushes that layer's blocks
  // from here. Empty: no call.
  std::function<void(int layer)> on_kv_written;
};

// Reports bytes copied so far and in total while weights load.
using LoadProgress = std::function<void(size_t done_bytes, size_t total_bytes)>;

class LlamaModel {
 public:
  // Reads config.json (+ generation_config.json) and the safetensors
  // checkpoint in dir, checks it, and copies the weights to `backend`.
  static Result<std::unique_ptr<LlamaModel>> load(const std::filesystem::path& dir,
                                                  backend::Backend& backend,
                                                  const LoadProgress& progress = nullptr);

  const ModelConfig& config() const { return config_; }
  backend::QkvLayout qkv_layout() const;
  size_t weight_bytes() const { return weight_bytes_; }

  // Runs the batch, writing its K/V into kv_layers (one per layer), and
  // returns the logits [m, vocab] (activation dtype) of in.logits_rows.
  // With hidden_out, also sets it to those rows' final hidden states [m,
  // hidden_size] (after the last norm: what the LM head reads), for
  // proposers that read the target's states (an EAGLE-style head).
  backend::Tensor forward(const ForwardInputs& in, std::vector<backend::KvLayer>& kv_layers,
                          backend::Tensor* hidden_out = nullptr);

 private:
  struct Layer {
    backend::Tensor input_norm, post_norm;  // [hidden] f32
    backend::Tensor qkv, qkv_bias;          // [width, hidden], [width] f32 or undefined
    backend::Tensor q_norm, k_norm;         // [head_dim] f32 or undefined
    backend::Tensor o, o_bias;              // [hidden, q_dim]
    backend::Tensor gate_up, gate_up_bias;  // [2 * intermediate, hidden]
    backend::Tensor down, down_bias;        // [hidden, intermediate]
  };

  LlamaModel(ModelConfig config, backend::Backend& backend)
      : config_(std::move(config)), be_(backend) {}
  void attention_block(const Layer& layer, const ForwardInputs& in, backend::Tensor& h,
                       backend::KvLayer& kv, backend::Tensor& out);
  void rope_write_kv(const Layer& layer, const ForwardInputs& in, backend::Tensor& qkv,
                     backend::KvLayer& kv, backend::Tensor& q);

  ModelConfig config_;
  backend::Backend& be_;
  backend::Tensor embed_;    // [vocab, hidden]
  backend::Tensor lm_head_;  // [vocab, hidden] (shares embed_ when tied)
  backend::Tensor final_norm_;
  std::vector<Layer> layers_;
  backend::RopeParams rope_;  // for sequences whose RoPE does not depend on length
  size_t weight_bytes_ = 0;
};

}  // namespace pdserve::model
