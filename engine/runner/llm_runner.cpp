#include "engine/runner/llm_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>
#include <unordered_set>

#include "common/base/logging.h"
#include "engine/model/rope.h"
#include "engine/runner/gpu_memory_budget.h"
#include "engine/runner/sampler.h"

namespace pdserve::runner {
namespace {

using backend::DType;
using backend::Shape;
using backend::Tensor;

Tensor upload_i32(backend::Backend& be, const std::vector<int32_t>& v, Shape shape) {
  Tensor t = be.alloc(shape, DType::kI32);
  be.copy_from_host(t, v.data(), DType::kI32);
  return t;
}

std::string seq_name(uint64_t id) {
  return "sequence " + std::to_string(id);
}

}  // namespace

Result<std::unique_ptr<LlmRunner>> LlmRunner::create(std::unique_ptr<backend::Backend> be,
                                                     std::unique_ptr<model::LlamaModel> model,
                                                     const LlmRunnerOptions& options) {
  const model::ModelConfig& c = model->config();
  KvCacheSpec spec;
  spec.num_layers = c.num_layers;
  spec.num_kv_heads = c.num_kv_heads;
  spec.head_dim = c.head_dim;
  spec.block_size = options.block_size;
  spec.dtype = be->activation_dtype();
  spec.num_host_blocks = options.num_host_blocks;
  if (spec.num_host_blocks == 0 && spec.block_size > 0)
    spec.num_host_blocks = static_cast<int>(options.host_kv_cache_bytes / spec.bytes_per_block());
  spec.num_blocks = options.num_blocks;
  if (spec.num_blocks == 0 && spec.block_size > 0)
    spec.num_blocks = static_cast<int>(options.kv_cache_bytes / spec.bytes_per_block());
  if (spec.num_blocks <= 0)
    return invalid_argument("KV cache of " + std::to_string(options.kv_cache_bytes) +
                            " bytes holds no block of " + std::to_string(spec.bytes_per_block()) +
                            " bytes");
  PD_ASSIGN_OR_RETURN(KvCache kv, KvCache::create(*be, spec));
  int max_len = options.max_model_len > 0 ? options.max_model_len : c.max_position_embeddings;
  if (max_len <= 0) return invalid_argument("max_model_len must be positive");
  return std::unique_ptr<LlmRunner>(
      new LlmRunner(std::move(be), std::move(model), std::move(kv), max_len, options));
}

Result<std::unique_ptr<LlmRunner>> LlmRunner::load(const std::filesystem::path& model_dir,
                                                   std::unique_ptr<backend::Backend> be,
                                                   const LlmRunnerOptions& options,
                                                   const model::LoadProgress& progress) {
  PD_ASSIGN_OR_RETURN(std::unique_ptr<model::LlamaModel> model,
                      model::LlamaModel::load(model_dir, *be, progress));
  LlmRunnerOptions sized = options;
  if (options.gpu_memory_utilization > 0 && be->name() != "cpu") {
    PD_ASSIGN_OR_RETURN(size_t device_bytes, backend::cuda_device_memory_bytes(0));
    PD_ASSIGN_OR_RETURN(sized.kv_cache_bytes,
                        kv_pool_bytes({device_bytes, options.gpu_memory_utilization,
                                       model->weight_bytes(), kActivationReserveBytes}));
  }
  return create(std::move(be), std::move(model), sized);
}

LlmRunner::LlmRunner(std::unique_ptr<backend::Backend> be, std::unique_ptr<model::LlamaModel> model,
                     KvCache kv, int max_model_len, const LlmRunnerOptions& options)
    : backend_(std::move(be)),
      model_(std::move(model)),
      kv_(std::move(kv)),
      max_model_len_(max_model_len),
      eos_(model_->config().eos_token_ids),
      sampler_(*backend_, model_->config().vocab_size),
      fault_(options.fault) {}

Status LlmRunner::add_sequence(const SequenceInfo& info) {
  if (seqs_.count(info.seq_id))
    return already_exists(seq_name(info.seq_id) + " is already running");
  PD_ASSIGN_OR_RETURN(std::unique_ptr<SequenceGrammar> grammar, make_grammar(info));
  SeqState state{info, info.output_ids, sequence_seed(info.sampling), std::move(grammar)};
  sampler_.add(info.seq_id, info.sampling, info.prompt_ids, info.output_ids);
  seqs_.emplace(info.seq_id, std::move(state));
  return ok_status();
}

Result<std::unique_ptr<SequenceGrammar>> LlmRunner::make_grammar(const SequenceInfo& info) const {
  if (!info.sampling.constraint) return std::unique_ptr<SequenceGrammar>();
  if (!grammar_compiler_)
    return invalid_argument(seq_name(info.seq_id) +
                            ": structured outputs need the tokenizer's vocabulary, which this "
                            "worker did not load");
  return SequenceGrammar::create(*grammar_compiler_, *info.sampling.constraint, info.output_ids);
}

void LlmRunner::remove_sequence(uint64_t seq_id) {
  sampler_.remove(seq_id);
  seqs_.erase(seq_id);
}

Status LlmRunner::record_tokens(uint64_t seq_id, std::span<const int32_t> tokens) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return not_found(seq_name(seq_id) + " was never added");
  SeqState& st = it->second;
  Status accepted;
  for (int32_t t : tokens) {
    if (st.grammar) accepted = st.grammar->accept(t);
    if (!accepted.ok()) break;
    st.output_ids.push_back(t);
  }
  // The penalty history (if any) again from the whole output.
  sampler_.add(seq_id, st.info.sampling, st.info.prompt_ids, st.output_ids);
  return accepted;
}

SequenceGrammar* LlmRunner::grammar(uint64_t seq_id) {
  auto it = seqs_.find(seq_id);
  return it == seqs_.end() ? nullptr : it->second.grammar.get();
}

Status LlmRunner::validate(const StepBatch& batch) const {
  const int vocab = model_->config().vocab_size;
  std::unordered_set<uint64_t> ids;
  for (const SeqStep& s : batch.seqs) {
    auto it = seqs_.find(s.seq_id);
    if (it == seqs_.end()) return not_found(seq_name(s.seq_id) + " was never added");
    if (!ids.insert(s.seq_id).second)
      return invalid_argument(seq_name(s.seq_id) + " is in the batch twice");
    if (s.input_ids.empty()) return invalid_argument(seq_name(s.seq_id) + " has no input tokens");
    const int64_t total =
        static_cast<int64_t>(s.num_computed) + static_cast<int64_t>(s.input_ids.size());
    if (s.num_computed < 0 || total > max_model_len_)
      return invalid_argument(seq_name(s.seq_id) + ": " + std::to_string(total) +
                              " tokens exceed max_model_len " + std::to_string(max_model_len_));
    const int64_t needed = (total + block_size() - 1) / block_size();
    if (static_cast<int64_t>(s.block_table.size()) < needed)
      return invalid_argument(seq_name(s.seq_id) + ": " + std::to_string(s.block_table.size()) +
                              " blocks for " + std::to_string(total) + " tokens");
    for (int32_t b : s.block_table)
      if (b < 0 || b >= num_blocks())
        return out_of_range(seq_name(s.seq_id) + ": block " + std::to_string(b) + " outside [0, " +
                            std::to_string(num_blocks()) + ")");
    if (s.num_draft_tokens < 0 || s.num_draft_tokens >= static_cast<int32_t>(s.input_ids.size()) ||
        (s.num_draft_tokens > 0 && !s.sample) || s.num_propose < 0)
      return invalid_argument(seq_name(s.seq_id) + ": " + std::to_string(s.num_draft_tokens) +
                              " draft tokens, " + std::to_string(s.num_propose) +
                              " to propose, for " + std::to_string(s.input_ids.size()) + " inputs");
    for (int32_t t : s.input_ids) {
      if (t == kLastSampled) {
        if (s.input_ids.size() != 1 || it->second.output_ids.empty())
          return invalid_argument(seq_name(s.seq_id) + ": kLastSampled without a sampled token");
      } else if (t < 0 || t >= vocab) {
        return invalid_argument(seq_name(s.seq_id) + ": token id " + std::to_string(t) +
                                " outside the vocabulary of " + std::to_string(vocab));
      }
    }
  }
  return ok_status();
}

int32_t LlmRunner::input_token(const SeqStep& s, size_t j) const {
  const int32_t t = s.input_ids[j];
  return t == kLastSampled ? seqs_.at(s.seq_id).output_ids.back() : t;
}

int32_t LlmRunner::slot_of(const SeqStep& s, int32_t pos) const {
  const int bs = block_size();
  return s.block_table[static_cast<size_t>(pos / bs)] * bs + pos % bs;
}

model::ForwardInputs LlmRunner::lay_out(const StepBatch& batch) {
  std::vector<int32_t> ids, positions, slots, qstart{0}, ctx, rows;
  size_t max_blocks = 1;
  int max_q = 0, max_ctx = 0;
  for (const SeqStep& s : batch.seqs) max_blocks = std::max(max_blocks, s.block_table.size());
  std::vector<int32_t> tables(batch.seqs.size() * max_blocks, 0);
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const SeqStep& s = batch.seqs[i];
    const auto n = static_cast<int32_t>(s.input_ids.size());
    for (int32_t j = 0; j < n; ++j) {
      ids.push_back(input_token(s, static_cast<size_t>(j)));
      positions.push_back(s.num_computed + j);
      slots.push_back(slot_of(s, s.num_computed + j));
    }
    qstart.push_back(qstart.back() + n);
    ctx.push_back(s.num_computed + n);
    max_q = std::max(max_q, n);
    max_ctx = std::max(max_ctx, s.num_computed + n);
    std::copy(s.block_table.begin(), s.block_table.end(),
              tables.begin() + static_cast<ptrdiff_t>(i * max_blocks));
    if (s.sample) {
      for (int32_t j = s.num_draft_tokens; j >= 0; --j) rows.push_back(qstart.back() - 1 - j);
    }
  }
  backend::Backend& be = *backend_;
  const auto n = static_cast<int64_t>(ids.size());
  const auto num_seqs = static_cast<int64_t>(batch.seqs.size());
  model::ForwardInputs in;
  in.token_ids = upload_i32(be, ids, Shape{n});
  in.positions = upload_i32(be, positions, Shape{n});
  in.slot_mapping = upload_i32(be, slots, Shape{n});
  in.attention.query_start = upload_i32(be, qstart, Shape{num_seqs + 1});
  in.attention.context_lens = upload_i32(be, ctx, Shape{num_seqs});
  in.attention.block_tables =
      upload_i32(be, tables, Shape{num_seqs, static_cast<int64_t>(max_blocks)});
  in.attention.num_seqs = static_cast<int>(num_seqs);
  in.attention.max_query_len = max_q;
  in.attention.max_context_len = max_ctx;
  in.attention.sliding_window = model_->config().sliding_window;
  in.attention.scale = 1.0f / std::sqrt(static_cast<float>(model_->config().head_dim));
  in.logits_rows = upload_i32(be, rows, Shape{static_cast<int64_t>(rows.size())});
  in.all_rows_sampled = rows.size() == ids.size();  // rows in order: every input's
  in.host_query_start = std::move(qstart);
  in.host_context_lens = std::move(ctx);
  return in;
}

bool LlmRunner::can_replay(const StepBatch& batch) const {
  if (!graphs_ || kv_layer_hook_ || batch.seqs.empty() ||
      static_cast<int>(batch.seqs.size()) > graphs_->max_batch())
    return false;
  for (const SeqStep& s : batch.seqs) {
    if (s.input_ids.size() != 1 || !s.sample || s.num_draft_tokens != 0 ||
        model::rope_depends_on_length(model_->config(), s.num_computed + 1))
      return false;
  }
  return true;
}

DecodeStep LlmRunner::decode_step(const StepBatch& batch) const {
  DecodeStep d;
  size_t cols = 0;
  for (const SeqStep& s : batch.seqs) cols = std::max(cols, s.block_table.size());
  // A valid step needs no more columns than max_model_len fills.
  cols = std::min(cols, static_cast<size_t>(graphs_->table_cols()));
  d.table_cols = static_cast<int>(cols);
  d.block_tables.assign(batch.seqs.size() * cols, 0);
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const SeqStep& s = batch.seqs[i];
    d.token_ids.push_back(input_token(s, 0));
    d.positions.push_back(s.num_computed);
    d.slots.push_back(slot_of(s, s.num_computed));
    d.context_lens.push_back(s.num_computed + 1);
    std::copy_n(s.block_table.begin(), std::min(cols, s.block_table.size()),
                d.block_tables.begin() + static_cast<ptrdiff_t>(i * cols));
  }
  return d;
}

Result<LlmRunner::Logits> LlmRunner::forward(const StepBatch& batch, Tensor* hidden) {
  PD_RETURN_IF_ERROR(validate(batch));
  if (!batch.swap_out.empty() || !batch.swap_in.empty()) {
    ++num_swapping_;
    if (fault_.kind == StepFault::Kind::kSwap && num_swapping_ == fault_.at)
      return internal_error("injected fault: swap of the host KV tier failed");
  }
  for (const BlockCopy& c : batch.swap_out) PD_RETURN_IF_ERROR(kv_.swap_out(c.src, c.dst));
  for (const BlockCopy& c : batch.swap_in) PD_RETURN_IF_ERROR(kv_.swap_in(c.src, c.dst));
  if (batch.seqs.empty()) return Logits{};
  const bool fail_check = fault_.kind == StepFault::Kind::kCheck && num_executes_ == fault_.at;
  if (!fail_check && !hidden && can_replay(batch)) {
    DecodeResult r = graphs_->run(decode_step(batch));
    ++num_graph_steps_;
    return Logits{r.logits, r.argmax};
  }
  model::ForwardInputs in = lay_out(batch);
  if (kv_layer_hook_ || fail_check) {
    in.on_kv_written = [this, &batch, fail_check](int layer) {
      PD_CHECK(!fail_check || layer > 0) << "injected fault: a check failed in layer 0";
      if (kv_layer_hook_) kv_layer_hook_(layer, batch);
    };
  }
  return Logits{model_->forward(in, kv_.layers(), hidden), Tensor()};
}

void LlmRunner::use_decode_graphs(int max_num_seqs) {
  if (!backend_->has_graphs()) return;
  const auto t0 = std::chrono::steady_clock::now();
  auto graphs = DecodeGraphs::capture(*backend_, *model_, kv_.layers(), max_num_seqs,
                                      max_model_len_, block_size());
  if (!graphs.ok()) {
    PD_LOG(WARN) << "CUDA graphs off, decode steps run eagerly: " << graphs.status().message();
    return;
  }
  graphs_ = std::move(graphs).value();
  const auto counts = graphs_->kernel_counts();
  PD_LOG(INFO) << "CUDA graphs of decode steps: " << counts.size() << " batch sizes (1 to "
               << counts.back().first << "), " << counts.back().second << " kernels per step, "
               << backend_->graph_memory_bytes() / (1 << 20) << " MiB of graph memory, recorded in "
               << std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0)
                      .count()
               << " ms";
}

std::vector<std::pair<int, int>> LlmRunner::decode_graph_kernels() const {
  return graphs_ ? graphs_->kernel_counts() : std::vector<std::pair<int, int>>{};
}

Result<std::vector<float>> LlmRunner::compute_logits(const StepBatch& batch,
                                                     std::vector<float>* hidden_states) {
  Tensor hidden;
  PD_ASSIGN_OR_RETURN(Logits out, forward(batch, hidden_states ? &hidden : nullptr));
  const Tensor& logits = out.logits;
  std::vector<float> host(static_cast<size_t>(logits.numel()));
  if (!host.empty()) backend_->copy_to_host(logits, host.data());
  if (hidden_states) {
    hidden_states->assign(static_cast<size_t>(hidden.data() ? hidden.numel() : 0), 0.0f);
    if (!hidden_states->empty()) backend_->copy_to_host(hidden, hidden_states->data());
  }
  return host;
}

bool LlmRunner::greedy(const SamplingParams& p) {
  return p.temperature <= backend::kGreedyTemperature && p.num_logprobs < 0 &&
         p.repetition_penalty == 1.0f && p.presence_penalty == 0.0f && p.frequency_penalty == 0.0f;
}

bool LlmRunner::needs_mask(const SeqState& st) const {
  return st.grammar || !blocked_stop_tokens(st.info.sampling, st.output_ids.size(), eos_).empty();
}

void LlmRunner::finish_mask(const SeqState& st, std::span<uint32_t> words) const {
  if (!st.grammar) std::fill(words.begin(), words.end(), ~0u);
  const int vocab = model_->config().vocab_size;
  std::vector<int32_t> cleared;  // stop tokens the constraint allowed
  for (int32_t t : blocked_stop_tokens(st.info.sampling, st.output_ids.size(), eos_)) {
    if (t < 0 || t >= vocab) continue;
    uint32_t& w = words[static_cast<size_t>(t >> 5)];
    if (w & (1u << (t & 31))) cleared.push_back(t);
    w &= ~(1u << (t & 31));
  }
  // A constraint that can only end wins over min_tokens: its stop tokens go
  // on until min_tokens is reached, where a row allowing nothing would fail
  // the step for every sequence in it.
  if (!cleared.empty() &&
      std::all_of(words.begin(), words.end(), [](uint32_t w) { return w == 0; }))
    for (int32_t t : cleared) words[static_cast<size_t>(t >> 5)] |= 1u << (t & 31);
}

Result<StepOutput> LlmRunner::execute(const StepBatch& batch) {
  ++num_executes_;
  if (fault_.kind == StepFault::Kind::kError && num_executes_ == fault_.at)
    return internal_error("injected fault: the runner failed the step");
  for (const SeqStep& s : batch.seqs) {
    if (s.num_draft_tokens > 0)
      return invalid_argument(seq_name(s.seq_id) + ": draft tokens need a speculative runner");
  }
  PD_RETURN_IF_ERROR(validate(batch));  // before the mask jobs start on the sequences' grammars
  // The sampled rows. When every one is greedy they take an argmax, each
  // under a mask row when any needs one (every token allowed in the others);
  // else the sampler, a mask row for each row that needs one.
  std::vector<std::pair<uint64_t, SeqState*>> sampled;
  std::vector<bool> masked;
  bool all_greedy = true, any_masked = false;
  for (const SeqStep& s : batch.seqs) {
    auto it = seqs_.find(s.seq_id);
    if (!s.sample || it == seqs_.end()) continue;
    sampled.emplace_back(s.seq_id, &it->second);
    masked.push_back(needs_mask(it->second));
    all_greedy &= greedy(it->second.info.sampling);
    any_masked |= masked.back();
  }
  std::vector<int32_t> mask_row(sampled.size(), -1);
  int32_t num_masks = 0;
  for (size_t i = 0; i < sampled.size(); ++i)
    if (any_masked && (all_greedy || masked[i])) mask_row[i] = num_masks++;
  const auto words = static_cast<size_t>(backend::mask_words(model_->config().vocab_size));
  const std::span<uint32_t> masks = sampler_.mask_rows(static_cast<size_t>(num_masks));
  const auto mask_of = [&](size_t i) {
    return masks.subspan(static_cast<size_t>(mask_row[i]) * words, words);
  };
  // The constraints' masks are computed while the forward pass runs, into the upload buffer.
  std::vector<MaskWorker::Job> jobs;
  for (size_t i = 0; i < sampled.size(); ++i)
    if (SequenceGrammar* g = sampled[i].second->grammar.get()) jobs.push_back({g, {}, mask_of(i)});
  PD_ASSIGN_OR_RETURN(Logits step,
                      masks_.overlap<Logits>(std::move(jobs), [&] { return forward(batch); }));
  for (size_t i = 0; i < sampled.size(); ++i)
    if (mask_row[i] >= 0) finish_mask(*sampled[i].second, mask_of(i));
  const Tensor& logits = step.logits;
  const bool any_rows = logits.data() && logits.dim(0) > 0;
  std::vector<SampledToken> tokens;
  if (any_rows && all_greedy) {
    tokens = sampler_.argmax(logits, step.argmax);
  } else if (any_rows) {
    std::vector<DeviceSampler::Row> rows;
    for (size_t i = 0; i < sampled.size(); ++i) {
      const auto& [seq_id, st] = sampled[i];
      rows.push_back({seq_id, &st->info.sampling, st->seed, st->output_ids.size(), mask_row[i]});
    }
    tokens = sampler_.sample(logits, rows);
  }
  StepOutput out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto& [seq_id, st] = sampled[i];
    SampledToken& tok = tokens[i];
    if (st->grammar) PD_RETURN_IF_ERROR(st->grammar->accept(tok.token_id));
    tok.seq_id = seq_id;
    st->output_ids.push_back(tok.token_id);
    out.sampled.push_back(std::move(tok));
  }
  return out;
}

}  // namespace pdserve::runner
