// CUDA graphs of pure decode steps (DESIGN.md, runner/; STYLE.md habit 8):
// at start-up one graph per batch size of a menu is recorded over shared,
// persistent input buffers (token ids, positions, KV slots, context lengths,
// block tables); a step of n sequences writes its inputs there and replays
// the graph of the next menu size, the rows past n being padding that reads
// and writes no KV (context length 0, slot -1). Each graph is the whole
// model forward and the argmax of every row, planned for the worst case
// (context max_model_len), so one graph serves every context length.
//
// Only steps in which every sequence decodes one token and samples it, with
// a RoPE that does not depend on the length, may replay (the runner checks);
// everything else runs eagerly.
//
// Not thread-safe: the runner's step thread drives it. Destroy it before
// the backend.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "engine/backend/backend.h"
#include "engine/model/llama_model.h"

namespace pdserve::runner {

// The menu: 1, 2, 4, 8, then every 8 up to 64, every 16 beyond, up to
// max_num_seqs, which is always the largest size.
std::vector<int> decode_graph_batch_sizes(int max_num_seqs);

// One decode step of n sequences as the graphs read it.
struct DecodeStep {
  std::vector<int32_t> token_ids;     // [n]
  std::vector<int32_t> positions;     // [n]
  std::vector<int32_t> slots;         // [n] KV slot of each new token
  std::vector<int32_t> context_lens;  // [n] positions + 1
  std::vector<int32_t> block_tables;  // [n, table_cols], rows zero-padded
  int table_cols = 0;
};

// A replay's results, valid until the next replay of any graph: views of
// memory the graphs own.
struct DecodeResult {
  backend::Tensor logits;  // [n, vocab]
  backend::Tensor argmax;  // [n] i32
};

class DecodeGraphs {
 public:
  // Records the graph of each menu size up to max_num_seqs (largest first,
  // each after an eager warm-up of the same padded step, which writes no
  // KV). Fails, leaving nothing recorded, when the backend cannot record
  // graphs or any recording fails; the caller then runs every step eagerly.
  static Result<std::unique_ptr<DecodeGraphs>> capture(backend::Backend& be,
                                                       model::LlamaModel& model,
                                                       std::vector<backend::KvLayer>& kv,
                                                       int max_num_seqs, int max_model_len,
                                                       int block_size);

  int max_batch() const { return max_batch_; }
  // Block table columns a step may fill (ceil(max_model_len / block_size)).
  int table_cols() const { return table_cols_; }
  // Uploads the step (1 <= n <= max_batch(), table_cols <= table_cols())
  // and replays the graph of the smallest menu size >= n. Asynchronous.
  DecodeResult run(const DecodeStep& step);
  // (batch size, kernels one replay launches) of every graph, smallest first.
  std::vector<std::pair<int, int>> kernel_counts() const;

 private:
  struct Graph {
    int batch = 0;
    model::ForwardInputs inputs;     // views of the shared buffers
    backend::Tensor logits, argmax;  // [batch, vocab], [batch]: views of graph memory
    std::unique_ptr<backend::StepGraph> graph;
  };

  DecodeGraphs(backend::Backend& be, int max_batch, int table_cols)
      : be_(be), max_batch_(max_batch), table_cols_(table_cols) {}
  // The inputs of a graph of `batch` rows over the shared buffers.
  model::ForwardInputs inputs_for(int batch, const model::ModelConfig& config,
                                  int max_model_len) const;
  // Writes n real rows of `step` and batch - n padding rows.
  void upload(const DecodeStep& step, int batch);
  // Warms up and records g (its inputs set). A failed check propagates.
  Status record(Graph& g, model::LlamaModel& model, std::vector<backend::KvLayer>& kv);

  backend::Backend& be_;
  int max_batch_;
  int table_cols_;
  backend::Tensor scalars_;      // [4, max_batch] i32: token ids, positions, slots, context lens
  backend::Tensor tables_;       // [max_batch, table_cols] i32
  backend::Tensor query_start_;  // [max_batch + 1] i32: 0, 1, ..., max_batch
  backend::Tensor rows_;         // [max_batch] i32: 0, 1, ..., max_batch - 1
  std::vector<Graph> graphs_;    // smallest batch first
  bool recording_ = false;       // between a begin_capture() and its end_capture()
};

}  // namespace pdserve::runner
