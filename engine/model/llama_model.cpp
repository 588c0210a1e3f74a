#include "engine/model/llama_model.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/model/checkpoint.h"
#include "engine/model/llama_weights.h"
#include "engine/model/rope.h"

namespace pdserve::model {
namespace {

using backend::DType;
using backend::Shape;
using backend::Tensor;

// Copies checkpoint tensors to the backend, counting bytes for progress.
class Uploader {
 public:
  Uploader(backend::Backend& be, size_t total, const LoadProgress& progress)
      : be_(be), total_(total), progress_(progress) {}

  // Rows of `parts` stacked into one [sum(rows), cols] tensor: in fp32 when
  // force_f32 (norms, biases), else in the backend's weight dtype for the
  // parts' dtype (for fp32 when the parts' dtypes differ).
  Tensor stack(const std::vector<const TensorView*>& parts, bool force_f32 = false) {
    int64_t rows = 0, cols = parts[0]->shape.size() == 2 ? parts[0]->shape[1] : 0;
    DType dtype = parts[0]->dtype;
    for (const TensorView* p : parts) {
      rows += p->shape[0];
      if (p->dtype != dtype) dtype = DType::kF32;
    }
    dtype = force_f32 ? DType::kF32 : be_.weight_dtype(dtype);
    Shape shape = cols ? Shape{rows, cols} : Shape{rows};
    Tensor t = be_.alloc(shape, dtype);
    int64_t row = 0;
    for (const TensorView* p : parts) {
      Tensor dst = t.rows(row, p->shape[0]);
      be_.copy_from_host(dst, p->data, p->dtype);
      row += p->shape[0];
      done_ += p->nbytes;
      if (progress_) progress_(done_, total_);
    }
    return t;
  }
  Tensor one(const TensorView& v, bool force_f32 = false) { return stack({&v}, force_f32); }
  Tensor optional_stack(const std::vector<const std::optional<TensorView>*>& parts) {
    if (!parts[0]->has_value()) return Tensor();
    std::vector<const TensorView*> views;
    for (auto* p : parts) views.push_back(&p->value());
    return stack(views, /*force_f32=*/true);
  }

 private:
  backend::Backend& be_;
  size_t total_;
  size_t done_ = 0;
  const LoadProgress& progress_;
};

backend::RopeParams upload_rope(backend::Backend& be, const RopeTable& table) {
  backend::RopeParams p;
  p.inv_freq = be.alloc(Shape{static_cast<int64_t>(table.inv_freq.size())}, DType::kF32);
  be.copy_from_host(p.inv_freq, table.inv_freq.data(), DType::kF32);
  p.attention_scaling = table.attention_scaling;
  return p;
}

const Tensor* opt(const Tensor& t) {
  return t.data() ? &t : nullptr;
}

}  // namespace

Result<std::unique_ptr<LlamaModel>> LlamaModel::load(const std::filesystem::path& dir,
                                                     backend::Backend& be,
                                                     const LoadProgress& progress) {
  PD_ASSIGN_OR_RETURN(ModelConfig config, load_model_config(dir));
  PD_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  PD_ASSIGN_OR_RETURN(LlamaWeights w, bind_llama_weights(checkpoint, config));

  std::unique_ptr<LlamaModel> m(new LlamaModel(std::move(config), be));
  Uploader up(be, checkpoint.total_bytes(), progress);
  m->embed_ = up.one(w.embed_tokens);
  m->lm_head_ = m->config_.tie_word_embeddings ? m->embed_ : up.one(w.lm_head);
  m->final_norm_ = up.one(w.final_norm, true);
  for (const LayerWeights& lw : w.layers) {
    Layer l;
    l.input_norm = up.one(lw.input_norm, true);
    l.post_norm = up.one(lw.post_attention_norm, true);
    l.qkv = up.stack({&lw.q_proj, &lw.k_proj, &lw.v_proj});
    l.qkv_bias = up.optional_stack({&lw.q_bias, &lw.k_bias, &lw.v_bias});
    if (lw.q_norm) {
      l.q_norm = up.one(*lw.q_norm, true);
      l.k_norm = up.one(*lw.k_norm, true);
    }
    l.o = up.one(lw.o_proj);
    l.o_bias = up.optional_stack({&lw.o_bias});
    l.gate_up = up.stack({&lw.gate_proj, &lw.up_proj});
    l.gate_up_bias = up.optional_stack({&lw.gate_bias, &lw.up_bias});
    l.down = up.one(lw.down_proj);
    l.down_bias = up.optional_stack({&lw.down_bias});
    m->layers_.push_back(std::move(l));
  }
  m->rope_ = upload_rope(be, compute_rope(m->config_));
  m->weight_bytes_ = checkpoint.total_bytes();
  return m;
}

backend::QkvLayout LlamaModel::qkv_layout() const {
  return {config_.num_heads, config_.num_kv_heads, config_.head_dim};
}

void LlamaModel::rope_write_kv(const Layer& layer, const ForwardInputs& in, Tensor& qkv,
                               backend::KvLayer& kv, Tensor& q) {
  const backend::QkvLayout layout = qkv_layout();
  const float eps = static_cast<float>(config_.rms_norm_eps);
  bool per_sequence = false;
  for (int32_t len : in.host_context_lens) per_sequence |= rope_depends_on_length(config_, len);
  if (!per_sequence) {
    be_.qkv_rope_write_kv(qkv, layout, opt(layer.q_norm), opt(layer.k_norm), eps, rope_,
                          in.positions, in.slot_mapping, kv, q);
    return;
  }
  // Dynamic NTK past the trained context: each sequence's table depends on
  // its length, as transformers recomputes it at every forward.
  for (size_t s = 0; s + 1 < in.host_query_start.size(); ++s) {
    const int64_t begin = in.host_query_start[s], count = in.host_query_start[s + 1] - begin;
    if (count == 0) continue;
    backend::RopeParams rope = upload_rope(be_, compute_rope(config_, in.host_context_lens[s]));
    Tensor qkv_s = qkv.rows(begin, count), q_s = q.rows(begin, count);
    be_.qkv_rope_write_kv(qkv_s, layout, opt(layer.q_norm), opt(layer.k_norm), eps, rope,
                          in.positions.rows(begin, count), in.slot_mapping.rows(begin, count), kv,
                          q_s);
  }
}

void LlamaModel::attention_block(const Layer& layer, const ForwardInputs& in, Tensor& h,
                                 backend::KvLayer& kv, Tensor& out) {
  const backend::QkvLayout layout = qkv_layout();
  const int64_t n = h.dim(0);
  const DType act = be_.activation_dtype();
  Tensor qkv = be_.alloc(Shape{n, layout.width()}, act);
  be_.matmul(h, layer.qkv, opt(layer.qkv_bias), qkv);
  Tensor q = be_.alloc(Shape{n, layout.q_dim()}, act);
  rope_write_kv(layer, in, qkv, kv, q);
  Tensor attn = be_.alloc(Shape{n, layout.q_dim()}, act);
  be_.paged_attention(q, layout, kv, in.attention, attn);
  be_.matmul(attn, layer.o, opt(layer.o_bias), out);
}

Tensor LlamaModel::forward(const ForwardInputs& in, std::vector<backend::KvLayer>& kv_layers,
                           Tensor* hidden_out) {
  PD_CHECK(kv_layers.size() == layers_.size())
      << "forward: " << kv_layers.size() << " KV layers for " << layers_.size() << " layers";
  const int64_t n = in.token_ids.numel();
  const int64_t hidden = config_.hidden_size, inter = config_.intermediate_size;
  const DType act = be_.activation_dtype();
  const float eps = static_cast<float>(config_.rms_norm_eps);

  Tensor x = be_.alloc(Shape{n, hidden}, act);  // the residual stream
  be_.embedding(embed_, in.token_ids, x);
  Tensor h = be_.alloc(Shape{n, hidden}, act);
  Tensor delta = be_.alloc(Shape{n, hidden}, act);
  Tensor gate_up = be_.alloc(Shape{n, 2 * inter}, act);
  Tensor mlp = be_.alloc(Shape{n, inter}, act);
  for (size_t i = 0; i < layers_.size(); ++i) {
    const Layer& layer = layers_[i];
    if (i == 0) {
      be_.rmsnorm(x, layer.input_norm, eps, h);
    } else {
      be_.add_rmsnorm(x, delta, layer.input_norm, eps, h);
    }
    attention_block(layer, in, h, kv_layers[i], delta);
    if (in.on_kv_written) in.on_kv_written(static_cast<int>(i));
    be_.add_rmsnorm(x, delta, layer.post_norm, eps, h);
    be_.matmul(h, layer.gate_up, opt(layer.gate_up_bias), gate_up);
    be_.silu_mul(gate_up, mlp);
    be_.matmul(mlp, layer.down, opt(layer.down_bias), delta);
  }
  const int64_t m = in.logits_rows.numel();
  // A step in which no sequence samples (every prompt still mid-chunk) needs no LM head.
  if (m == 0) return be_.alloc(Shape{0, config_.vocab_size}, act);
  Tensor normed = be_.alloc(Shape{m, hidden}, act);
  if (in.all_rows_sampled) {
    PD_CHECK(m == n) << "forward: " << m << " logits rows of " << n << " said to be all rows";
    be_.add_rmsnorm(x, delta, final_norm_, eps, normed);
  } else {
    be_.add(x, delta);
    Tensor last = be_.alloc(Shape{m, hidden}, act);
    be_.gather_rows(x, in.logits_rows, last);
    be_.rmsnorm(last, final_norm_, eps, normed);
  }
  Tensor logits = be_.alloc(Shape{m, config_.vocab_size}, act);
  be_.matmul(normed, lm_head_, nullptr, logits);
  if (hidden_out) *hidden_out = normed;
  return logits;
}

}  // namespace pdserve::model
