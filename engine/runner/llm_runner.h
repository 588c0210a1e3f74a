// The real ModelRunner: a Llama-family model on a backend, its paged KV
// cache, and the host sampler. execute() validates the batch, lays it out
// (token ids, positions, KV slots, block tables), runs the forward pass and
// samples the sequences that asked for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/llama_model.h"
#include "engine/runner/kv_cache.h"
#include "engine/runner/model_runner.h"
#include "engine/runner/step_fault.h"

namespace pdserve::runner {

struct LlmRunnerOptions {
  int block_size = 16;
  int num_blocks = 0;  // 0: as many as kv_cache_bytes holds
  size_t kv_cache_bytes = size_t{512} << 20;
  // > 0 (CUDA backend): load() sizes the KV pool to this fraction of the GPU
  // less the weights (gpu_memory_budget.h) instead of kv_cache_bytes.
  double gpu_memory_utilization = 0;
  int num_host_blocks = 0;  // host tier for swapping (0: as many as host_kv_cache_bytes hold)
  size_t host_kv_cache_bytes = 0;
  int max_model_len = 0;  // 0: max_position_embeddings
  StepFault fault;        // injected failure (tests, drills)
};

class LlmRunner final : public ModelRunner {
 public:
  static Result<std::unique_ptr<LlmRunner>> create(std::unique_ptr<backend::Backend> backend,
                                                   std::unique_ptr<model::LlamaModel> model,
                                                   const LlmRunnerOptions& options);
  // Loads the checkpoint in model_dir onto `backend` and creates the runner.
  static Result<std::unique_ptr<LlmRunner>> load(const std::filesystem::path& model_dir,
                                                 std::unique_ptr<backend::Backend> backend,
                                                 const LlmRunnerOptions& options,
                                                 const model::LoadProgress& progress = nullptr);

  Status add_sequence(const SequenceInfo& info) override;
  void remove_sequence(uint64_t seq_id) override;
  Result<StepOutput> execute(const StepBatch& batch) override;

  int block_size() const override { return kv_.spec().block_size; }
  int num_blocks() const override { return kv_.spec().num_blocks; }
  int num_host_blocks() const override { return kv_.spec().num_host_blocks; }
  int max_model_len() const override { return max_model_len_; }
  int vocab_size() const override { return model_->config().vocab_size; }
  const std::vector<int32_t>& eos_token_ids() const override { return eos_; }

  // Like execute(), but returns the logits instead of sampling: [rows, vocab],
  // per sequence with sample == true (in batch order) one row for each of
  // its last num_draft_tokens + 1 inputs. Proposals are not made.
  Result<std::vector<float>> compute_logits(const StepBatch& batch);

  const model::ModelConfig& config() const { return model_->config(); }
  size_t model_weight_bytes() const { return model_->weight_bytes(); }
  backend::Backend& backend() { return *backend_; }
  // Called on the thread that executes steps, after each layer of a step
  // wrote its K/V (see ForwardInputs::on_kv_written), with the step's batch.
  // Set it before the engine runs; empty: none. It must not block.
  using KvLayerHook = std::function<void(int layer, const StepBatch& batch)>;
  void set_kv_layer_hook(KvLayerHook hook) { kv_layer_hook_ = std::move(hook); }

  KvCache& kv_cache() { return kv_; }
  const KvCache& kv_cache() const { return kv_; }

 private:
  struct SeqState {
    SequenceInfo info;
    std::vector<int32_t> output_ids;
    uint64_t seed = 0;
  };

  LlmRunner(std::unique_ptr<backend::Backend> be, std::unique_ptr<model::LlamaModel> model,
            KvCache kv, int max_model_len, StepFault fault);
  Status validate(const StepBatch& batch) const;
  // Validates, swaps, lays out and runs the batch: logits [sampled, vocab].
  Result<backend::Tensor> forward(const StepBatch& batch);
  // Greedy with nothing that needs the full distribution on the host.
  static bool plain_greedy(const SeqState& st);
  model::ForwardInputs lay_out(const StepBatch& batch);

  KvLayerHook kv_layer_hook_;
  std::unique_ptr<backend::Backend> backend_;
  std::unique_ptr<model::LlamaModel> model_;
  KvCache kv_;
  int max_model_len_;
  std::vector<int32_t> eos_;
  std::unordered_map<uint64_t, SeqState> seqs_;
  StepFault fault_;
  int64_t num_executes_ = 0;  // execute() calls so far
  int64_t num_swapping_ = 0;  // forward passes that swapped blocks so far
};

}  // namespace pdserve::runner
