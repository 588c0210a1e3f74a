// The real ModelRunner: a Llama-family model on a backend, its paged KV
// cache, and its sampler (DeviceSampler) on the backend. execute()
// validates the batch, lays it out (token ids, positions, KV slots, block
// tables), runs the forward pass and samples the sequences that asked for
// it (on a GPU only sampled ids and requested logprobs leave the device). With decode graphs
// (use_decode_graphs) a pure decode step replays a recorded CUDA graph
// instead of launching its ops one by one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/llama_model.h"
#include "engine/runner/decode_graphs.h"
#include "engine/runner/device_sampler.h"
#include "engine/runner/kv_cache.h"
#include "engine/runner/mask_worker.h"
#include "engine/runner/model_runner.h"
#include "engine/runner/sequence_grammar.h"
#include "engine/runner/step_fault.h"
#include "structured/grammar_compiler.h"

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
  // its last num_draft_tokens + 1 inputs. Proposals are not made. With
  // hidden_states, also sets it to the same rows' final hidden states
  // [rows, hidden_size] (LlamaModel::forward); such a step runs eagerly.
  Result<std::vector<float>> compute_logits(const StepBatch& batch,
                                            std::vector<float>* hidden_states = nullptr);

  // Records CUDA graphs of decode steps of up to max_num_seqs sequences
  // (DecodeGraphs); later steps in which every sequence decodes one token
  // and samples it replay them, other steps run eagerly. A backend without
  // graphs (the CPU) leaves the runner eager silently; a failed recording
  // leaves it eager with one warning line. Call before the engine runs.
  void use_decode_graphs(int max_num_seqs);
  // (batch size, kernels per replay) of each recorded graph; empty: eager.
  std::vector<std::pair<int, int>> decode_graph_kernels() const;
  // Forward passes that replayed a graph so far.
  int64_t num_graph_steps() const { return num_graph_steps_; }

  const model::ModelConfig& config() const { return model_->config(); }
  size_t model_weight_bytes() const { return model_->weight_bytes(); }
  backend::Backend& backend() { return *backend_; }
  const backend::Backend& backend() const { return *backend_; }
  // Called on the thread that executes steps once each layer of a step has
  // issued its K/V writes (see ForwardInputs::on_kv_written), with the
  // step's batch; backend().mark() made in the hook fires when they have
  // landed. Set it before the engine runs; empty: none. It must not block.
  using KvLayerHook = std::function<void(int layer, const StepBatch& batch)>;
  void set_kv_layer_hook(KvLayerHook hook) { kv_layer_hook_ = std::move(hook); }

  // Structured outputs: constraints compile against this compiler's
  // vocabulary (the tokenizer's, set by whoever loads it, before the engine
  // runs). Without one, a sequence with a constraint is refused.
  void set_grammar_compiler(std::shared_ptr<structured::GrammarCompiler> compiler) {
    grammar_compiler_ = std::move(compiler);
  }
  // Speculative decoding samples some steps itself, from compute_logits:
  // `tokens` it emitted for a sequence join the sequence's output as if
  // sampled here (penalty history, the seeded draws' index, the
  // constraint's matcher), so that later execute() steps go on exactly.
  // kNotFound for a sequence never added; kInvalidArgument when the
  // constraint refuses a token (those before it are recorded).
  Status record_tokens(uint64_t seq_id, std::span<const int32_t> tokens);
  // The sequence's constraint (null: unconstrained or never added), for a
  // runner that masks its own rows; it stays valid until remove_sequence
  // and is advanced by record_tokens.
  SequenceGrammar* grammar(uint64_t seq_id);
  const std::shared_ptr<structured::GrammarCompiler>& grammar_compiler() const {
    return grammar_compiler_;
  }

  KvCache& kv_cache() { return kv_; }
  const KvCache& kv_cache() const { return kv_; }

 private:
  struct SeqState {
    SequenceInfo info;
    std::vector<int32_t> output_ids;
    uint64_t seed = 0;
    std::unique_ptr<SequenceGrammar> grammar;  // null: unconstrained
  };

  LlmRunner(std::unique_ptr<backend::Backend> be, std::unique_ptr<model::LlamaModel> model,
            KvCache kv, int max_model_len, const LlmRunnerOptions& options);
  // A forward pass's results: logits [sampled, vocab]; argmax [sampled] i32
  // when a replayed graph computed it (undefined otherwise).
  struct Logits {
    backend::Tensor logits;
    backend::Tensor argmax;
  };

  // A sequence's grammar (null: unconstrained). kInvalidArgument as add_sequence.
  Result<std::unique_ptr<SequenceGrammar>> make_grammar(const SequenceInfo& info) const;
  Status validate(const StepBatch& batch) const;
  // Validates, swaps, lays out and runs the batch (a graph when it can,
  // unless `hidden` asks for the final hidden states).
  Result<Logits> forward(const StepBatch& batch, backend::Tensor* hidden = nullptr);
  // A validated batch whose step a decode graph computes exactly.
  bool can_replay(const StepBatch& batch) const;
  DecodeStep decode_step(const StepBatch& batch) const;
  // Input j of s (kLastSampled: the token sampled last) and its KV slot.
  int32_t input_token(const SeqStep& s, size_t j) const;
  int32_t slot_of(const SeqStep& s, int32_t pos) const;
  // Greedy with nothing between the logits and the pick but an allowed-token
  // mask: the sampler and an argmax under the mask pick the same token.
  static bool greedy(const SamplingParams& p);
  // st's next token has an allowed-token mask: its constraint's, or
  // min_tokens' stop tokens blocked.
  bool needs_mask(const SeqState& st) const;
  model::ForwardInputs lay_out(const StepBatch& batch);
  // Completes the mask row of st's next token: every token when it has no
  // constraint (else the constraint's, written by the MaskWorker), less the
  // stop tokens min_tokens blocks. Advances nothing.
  void finish_mask(const SeqState& st, std::span<uint32_t> words) const;

  KvLayerHook kv_layer_hook_;
  std::shared_ptr<structured::GrammarCompiler> grammar_compiler_;
  std::unique_ptr<backend::Backend> backend_;
  std::unique_ptr<model::LlamaModel> model_;
  KvCache kv_;
  int max_model_len_;
  std::vector<int32_t> eos_;
  std::unordered_map<uint64_t, SeqState> seqs_;
  DeviceSampler sampler_;  // after backend_ (its buffers die first)
  MaskWorker masks_;       // after seqs_: idle before their grammars go
  StepFault fault_;
  int64_t num_executes_ = 0;  // execute() calls so far
  int64_t num_swapping_ = 0;  // forward passes that swapped blocks so far
  int64_t num_graph_steps_ = 0;
  std::unique_ptr<DecodeGraphs> graphs_;  // null: every step eager (before backend_ dies)
};

}  // namespace pdserve::runner
