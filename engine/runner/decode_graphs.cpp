#include "engine/runner/decode_graphs.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "common/base/check_scope.h"

namespace pdserve::runner {
namespace {

using backend::DType;
using backend::Shape;
using backend::Tensor;

enum ScalarRow { kTokenIds = 0, kPositions = 1, kSlots = 2, kContextLens = 3, kNumScalarRows = 4 };

Tensor iota(backend::Backend& be, int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  Tensor t = be.alloc(Shape{n}, DType::kI32);
  be.copy_from_host(t, v.data(), DType::kI32);
  return t;
}

// A view that does not keep graph memory alive (the graph pool does).
Tensor unowned(const Tensor& t) {
  return Tensor(t.data(), t.shape(), t.dtype());
}

}  // namespace

std::vector<int> decode_graph_batch_sizes(int max_num_seqs) {
  std::vector<int> sizes;
  for (int b : {1, 2, 4, 8})
    if (b < max_num_seqs) sizes.push_back(b);
  for (int b = 16; b < max_num_seqs; b += b < 64 ? 8 : 16) sizes.push_back(b);
  if (max_num_seqs >= 1) sizes.push_back(max_num_seqs);
  return sizes;
}

Result<std::unique_ptr<DecodeGraphs>> DecodeGraphs::capture(backend::Backend& be,
                                                            model::LlamaModel& model,
                                                            std::vector<backend::KvLayer>& kv,
                                                            int max_num_seqs, int max_model_len,
                                                            int block_size) {
  if (max_num_seqs < 1 || max_model_len < 1 || block_size < 1)
    return invalid_argument("decode graphs: max_num_seqs " + std::to_string(max_num_seqs) +
                            ", max_model_len " + std::to_string(max_model_len) + ", block size " +
                            std::to_string(block_size));
  const int table_cols = (max_model_len + block_size - 1) / block_size;
  std::unique_ptr<DecodeGraphs> g(new DecodeGraphs(be, max_num_seqs, table_cols));
  // A failed check while recording fails the recording, not the process:
  // everything it touched (graphs, their memory, the buffers) goes with it.
  RecoverableChecks scope;
  try {
    const int64_t max_b = max_num_seqs;
    g->scalars_ = be.alloc(Shape{kNumScalarRows, max_b}, DType::kI32);
    g->tables_ = be.alloc(Shape{max_b, table_cols}, DType::kI32);
    be.fill_zero(g->tables_);
    g->query_start_ = iota(be, max_b + 1);
    g->rows_ = iota(be, max_b);
    std::vector<int> sizes = decode_graph_batch_sizes(max_num_seqs);
    // Largest first: the smaller graphs reuse the larger's memory.
    for (auto it = sizes.rbegin(); it != sizes.rend(); ++it) {
      Graph graph;
      graph.batch = *it;
      graph.inputs = g->inputs_for(*it, model.config(), max_model_len);
      PD_RETURN_IF_ERROR(g->record(graph, model, kv));
      g->graphs_.push_back(std::move(graph));
    }
  } catch (const CheckFailure& e) {
    if (g->recording_) (void)be.end_capture();
    return internal_error(std::string("recording a decode graph: ") + e.what());
  }
  std::reverse(g->graphs_.begin(), g->graphs_.end());
  return g;
}

model::ForwardInputs DecodeGraphs::inputs_for(int batch, const model::ModelConfig& config,
                                              int max_model_len) const {
  const int64_t b = batch;
  auto scalar = [&](ScalarRow row) {
    return scalars_.rows(row, 1).reshaped(Shape{max_batch_}).rows(0, b);
  };
  model::ForwardInputs in;
  in.token_ids = scalar(kTokenIds);
  in.positions = scalar(kPositions);
  in.slot_mapping = scalar(kSlots);
  in.attention.query_start = query_start_.rows(0, b + 1);
  in.attention.context_lens = scalar(kContextLens);
  in.attention.block_tables = tables_.rows(0, b);
  in.attention.num_seqs = batch;
  in.attention.max_query_len = 1;
  // The plan (split-K) is fixed at recording: sized for any context.
  in.attention.max_context_len = max_model_len;
  in.attention.sliding_window = config.sliding_window;
  in.attention.scale = 1.0f / std::sqrt(static_cast<float>(config.head_dim));
  in.logits_rows = rows_.rows(0, b);
  in.all_rows_sampled = true;
  // host_context_lens stays empty: the recorded RoPE is the one that does
  // not depend on the length (the runner replays only such steps).
  return in;
}

void DecodeGraphs::upload(const DecodeStep& step, int batch) {
  const auto n = static_cast<int64_t>(step.token_ids.size());
  PD_CHECK(n <= batch && batch <= max_batch_ && step.table_cols <= table_cols_ &&
           step.positions.size() == step.token_ids.size() &&
           step.slots.size() == step.token_ids.size() &&
           step.context_lens.size() == step.token_ids.size() &&
           static_cast<int64_t>(step.block_tables.size()) == n * step.table_cols)
      << "decode graphs: a step of " << n << " sequences for a graph of " << batch;
  // Padding rows: token 0 at position 0, no KV slot, empty context.
  std::vector<int32_t> scalars(static_cast<size_t>(kNumScalarRows * batch), 0);
  auto row = [&](ScalarRow r, const std::vector<int32_t>& v, int32_t pad) {
    auto dst = scalars.begin() + static_cast<ptrdiff_t>(r) * batch;
    std::copy(v.begin(), v.end(), dst);
    std::fill(dst + n, dst + batch, pad);
  };
  row(kTokenIds, step.token_ids, 0);
  row(kPositions, step.positions, 0);
  row(kSlots, step.slots, -1);
  row(kContextLens, step.context_lens, 0);
  be_.copy_rows_from_host(scalars_, scalars.data(), batch);
  // Padding rows read no block (context 0): their table rows stay as they are.
  Tensor tables = tables_.rows(0, n);
  be_.copy_rows_from_host(tables, step.block_tables.data(), step.table_cols);
}

Status DecodeGraphs::record(Graph& g, model::LlamaModel& model, std::vector<backend::KvLayer>& kv) {
  upload(DecodeStep{}, g.batch);
  {  // Warm-up: plans, kernel modules and cuBLASLt algorithms are made outside the recording.
    Tensor logits = model.forward(g.inputs, kv);
    Tensor ids = be_.alloc(Shape{g.batch}, DType::kI32);
    be_.argmax_rows(logits, ids);
    be_.synchronize();
  }
  PD_RETURN_IF_ERROR(be_.begin_capture());
  recording_ = true;
  Tensor logits = model.forward(g.inputs, kv);
  Tensor ids = be_.alloc(Shape{g.batch}, DType::kI32);
  be_.argmax_rows(logits, ids);
  recording_ = false;
  PD_ASSIGN_OR_RETURN(g.graph, be_.end_capture());
  g.logits = unowned(logits);
  g.argmax = unowned(ids);
  return ok_status();
}

DecodeResult DecodeGraphs::run(const DecodeStep& step) {
  const auto n = static_cast<int64_t>(step.token_ids.size());
  auto it =
      std::find_if(graphs_.begin(), graphs_.end(), [n](const Graph& g) { return g.batch >= n; });
  PD_CHECK(n >= 1 && it != graphs_.end()) << "decode graphs: no graph for " << n << " sequences";
  upload(step, it->batch);
  it->graph->replay();
  return {it->logits.rows(0, n), it->argmax.rows(0, n)};
}

std::vector<std::pair<int, int>> DecodeGraphs::kernel_counts() const {
  std::vector<std::pair<int, int>> counts;
  for (const Graph& g : graphs_) counts.emplace_back(g.batch, g.graph->num_kernels());
  return counts;
}

}  // namespace pdserve::runner
