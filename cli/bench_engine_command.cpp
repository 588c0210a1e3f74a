#include "cli/bench_engine_command.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "cli/runner_flags.h"
#include "cli/sampling_flags.h"
#include "engine/backend/device_peaks.h"
#include "engine/runner/model_cost.h"
#include "engine/scheduler/scheduler_config.h"
#include "structured/constraint.h"

namespace pdserve::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  RunnerFlags runner;
  std::vector<std::string> decode = {"1x128", "64x1024"};  // BATCHxCONTEXT points
  std::vector<int> verify_k;  // at every decode point, a verification of k proposals each
  int prefill_len = 1024;
  int prefill_chunk = 0;  // > 0: the prefill runs in chunks of this many tokens, each timed
  int decode_steps = 64;
  std::string json_schema;  // a file: every sequence's output follows it
  std::string output_json;
  protocol::SamplingParams sampling;  // of every sequence (default: greedy)
};

// The constraint of --json-schema FILE, checked as the router checks one.
Result<std::shared_ptr<const protocol::OutputConstraint>> read_schema(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument("--json-schema " + path + ": cannot read it");
  protocol::OutputConstraint c;
  c.kind = protocol::OutputConstraint::Kind::kJsonSchema;
  c.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  Result<structured::Grammar> g = structured::build_grammar(c);
  if (!g.ok()) return g.status().with_context("--json-schema " + path);
  return std::make_shared<const protocol::OutputConstraint>(std::move(c));
}

struct DecodePoint {
  int batch = 0;
  int context = 0;
};

// "BATCHxCONTEXT", both positive.
Result<DecodePoint> parse_point(const std::string& text) {
  DecodePoint p;
  char x = 0, rest = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &p.batch, &x, &p.context, &rest) != 3 || x != 'x' ||
      p.batch < 1 || p.batch > 4096 || p.context < 1 || p.context > (1 << 20))
    return invalid_argument("--decode " + text +
                            ": expected BATCHxCONTEXT (batch 1-4096, context 1-1048576)");
  return p;
}

struct Figure {
  std::string name;
  double seconds = 0;      // per step
  double cpu_seconds = 0;  // decode: the process's CPU time per step, all threads
  double floor = 0;        // seconds at the physical limit (0: unknown)
  int graph_batch = 0;     // decode: the replayed graph's batch size (0: eager)
  int graph_kernels = 0;   // decode: kernels one replay launches
  double vs_decode = 0;    // verify: seconds over those of the decode step at the same point
  int new_contexts = -1;   // decode under --json-schema: grammar contexts first met while timed
};

// The graph a decode step of `batch` sequences replays: (its batch, its kernels), or (0, 0).
std::pair<int, int> graph_for(const runner::LlmRunner& r, int batch) {
  for (const auto& [b, kernels] : r.decode_graph_kernels())
    if (b >= batch) return {b, kernels};
  return {0, 0};
}

class Bench {
 public:
  Bench(runner::LlmRunner& r, int seed, const protocol::SamplingParams& sampling)
      : r_(r), rng_(static_cast<uint32_t>(seed)), sampling_(sampling) {}

  // Adds `count` sequences with random prompts of `len` tokens and prefills
  // them, at most `max_tokens` tokens per step. Returns their steps.
  Result<std::vector<runner::SeqStep>> prefill(int count, int len, int max_tokens = 16384) {
    std::vector<runner::SeqStep> steps;
    runner::StepBatch batch;
    int tokens = 0;
    for (int i = 0; i < count; ++i) {
      PD_ASSIGN_OR_RETURN(runner::SeqStep s, add_random_sequence(len));
      if (tokens + len > max_tokens && !batch.seqs.empty()) {
        PD_RETURN_IF_ERROR(r_.execute(batch).status());
        batch.seqs.clear();
        tokens = 0;
      }
      batch.seqs.push_back(s);
      tokens += len;
      steps.push_back(std::move(s));
    }
    if (!batch.seqs.empty()) PD_RETURN_IF_ERROR(r_.execute(batch).status());
    for (auto& s : steps) {
      s.num_computed = static_cast<int32_t>(s.input_ids.size());
      s.input_ids = {runner::kLastSampled};
    }
    return steps;
  }

  // Seconds per decode step of these sequences over `n` steps: wall time, and
  // the process's CPU time (what the host spent, whatever else the machine runs).
  Result<std::pair<double, double>> decode(std::vector<runner::SeqStep>& steps, int n) {
    runner::StepBatch batch{{}, {}, steps};
    return timed(batch, n, [&] { return r_.execute(batch).status(); });
  }

  // The same for verification steps as SpecDecodeRunner builds them: every
  // sequence's last token and k proposals (random tokens), the target's
  // logits of all k + 1 rows brought to the host. The context grows by one
  // token a step, as a decode step's does (the rest is rolled back).
  Result<std::pair<double, double>> verify(std::vector<runner::SeqStep> steps, int k, int n) {
    for (runner::SeqStep& s : steps) {
      s.input_ids.clear();
      for (int t = 0; t <= k; ++t) s.input_ids.push_back(random_token());
      s.num_draft_tokens = k;
    }
    runner::StepBatch batch{{}, {}, std::move(steps)};
    return timed(batch, n, [&] { return r_.compute_logits(batch).status(); });
  }

  // One sequence of `len` random tokens prefilled `chunk` tokens per step
  // (chunked prefill): the seconds of each step, the GPU drained around it.
  Result<std::vector<double>> prefill_chunks(int len, int chunk) {
    PD_ASSIGN_OR_RETURN(runner::SeqStep s, add_random_sequence(len));
    const std::vector<int32_t> prompt = std::move(s.input_ids);
    std::vector<double> seconds;
    for (int at = 0; at < len; at += chunk) {
      const int n = std::min(chunk, len - at);
      s.input_ids.assign(prompt.begin() + at, prompt.begin() + at + n);
      s.num_computed = at;
      s.sample = at + n == len;
      r_.backend().synchronize();
      const auto t0 = Clock::now();
      PD_RETURN_IF_ERROR(r_.execute(runner::StepBatch{{}, {}, {s}}).status());
      r_.backend().synchronize();
      seconds.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    r_.remove_sequence(s.seq_id);
    return seconds;
  }

  void set_decode_room(int n) { decode_room_ = n; }
  void reset_blocks() { next_block_ = 0; }

 private:
  int32_t random_token() {
    return std::uniform_int_distribution<int32_t>(0, r_.config().vocab_size - 1)(rng_);
  }

  // Adds a sequence with a random prompt of `len` tokens and KV blocks for
  // it and the decode room: its whole prompt as one sampling step.
  Result<runner::SeqStep> add_random_sequence(int len) {
    runner::SequenceInfo info;
    info.seq_id = ++next_id_;
    info.sampling = sampling_;
    info.sampling.ignore_eos = true;
    for (int t = 0; t < len; ++t) info.prompt_ids.push_back(random_token());
    PD_RETURN_IF_ERROR(r_.add_sequence(info));
    runner::SeqStep s{info.seq_id, info.prompt_ids, 0, {}, true};
    const int blocks = (len + 1 + decode_room_ + r_.block_size() - 1) / r_.block_size();
    for (int b = 0; b < blocks; ++b) s.block_table.push_back(next_block_++);
    if (next_block_ > r_.num_blocks())
      return resource_exhausted("KV cache too small: raise --kv-cache-mb");
    return s;
  }

  static void advance(runner::StepBatch& b) {
    for (auto& s : b.seqs) ++s.num_computed;
  }
  // Runs `step` once to warm up, then n times timed, advancing `batch` after each.
  template <typename Step>
  static Result<std::pair<double, double>> timed(runner::StepBatch& batch, int n, Step step) {
    PD_RETURN_IF_ERROR(step());
    advance(batch);
    const auto t0 = Clock::now();
    const std::clock_t cpu0 = std::clock();
    for (int i = 0; i < n; ++i) {
      PD_RETURN_IF_ERROR(step());
      advance(batch);
    }
    const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
    return std::pair{std::chrono::duration<double>(Clock::now() - t0).count() / n, cpu / n};
  }
  runner::LlmRunner& r_;
  std::mt19937 rng_;
  protocol::SamplingParams sampling_;
  uint64_t next_id_ = 0;
  int next_block_ = 0;
  int decode_room_ = 0;
};

int run(const BenchFlags& f) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve bench engine: %s\n", s.message().c_str());
    return 1;
  };
  std::vector<DecodePoint> points;
  for (const std::string& text : f.decode) {
    auto p = parse_point(text);
    if (!p.ok()) return fail(p.status());
    points.push_back(*p);
  }
  std::shared_ptr<const protocol::OutputConstraint> constraint;
  if (!f.json_schema.empty()) {
    auto c = read_schema(f.json_schema);
    if (!c.ok()) return fail(c.status());
    constraint = *c;
  }
  int max_batch = 0;
  for (const DecodePoint& p : points) max_batch = std::max(max_batch, p.batch);
  auto loaded = load_runner(f.runner, max_batch);
  if (!loaded.ok()) return fail(loaded.status());
  runner::LlmRunner& r = **loaded;
  const model::ModelConfig& c = r.config();
  auto peaks = backend::measure_device_peaks(r.backend());
  const double bw = peaks.ok() ? peaks->copy_bytes_per_s : 0,
               flops = peaks.ok() ? peaks->gemm_flops_per_s : 0;

  const runner::ModelCost cost = runner::ModelCost::of(r);

  std::vector<Figure> figures;
  protocol::SamplingParams sampling = f.sampling;
  sampling.constraint = constraint;
  // Stack suffixes the schema's compiled grammar has classified so far: each
  // is classified once per compiled grammar (tens of ms at a 128k
  // vocabulary), so those first met in timed steps are in their time.
  const auto num_contexts = [&]() -> int32_t {
    if (!constraint || !r.grammar_compiler()) return 0;
    auto g = r.grammar_compiler()->compile(*constraint);
    return g.ok() ? (*g)->num_cached_contexts() : 0;
  };
  Bench bench(r, 0, sampling);
  const int max_k =
      f.verify_k.empty() ? 0 : *std::max_element(f.verify_k.begin(), f.verify_k.end());
  for (const DecodePoint& p : points) {
    const int steps = p.batch == 1 ? f.decode_steps : std::max(8, f.decode_steps / 4);
    bench.reset_blocks();
    bench.set_decode_room(steps + 2 + max_k);
    auto seqs = bench.prefill(p.batch, p.context);
    if (!seqs.ok()) return fail(seqs.status());
    const std::vector<runner::SeqStep> start = *seqs;
    const int contexts_before = num_contexts();
    auto t = bench.decode(*seqs, steps);
    if (!t.ok()) return fail(t.status());
    // Mean context over the timed steps (the warm-up step came first).
    const double ctx = p.context + 1.0 + (steps + 1) / 2.0;
    const double bytes = cost.decode_step_bytes(p.batch, ctx);
    const auto [graph_batch, graph_kernels] = graph_for(r, p.batch);
    const std::string at = "batch " + std::to_string(p.batch) + " at " + std::to_string(p.context);
    figures.push_back({"decode " + at + " (per step)", t->first, t->second, bw ? bytes / bw : 0,
                       graph_batch, graph_kernels});
    if (constraint) figures.back().new_contexts = num_contexts() - contexts_before;
    for (int k : f.verify_k) {
      auto v = bench.verify(start, k, steps);
      if (!v.ok()) return fail(v.status());
      Figure fig{"verify k=" + std::to_string(k) + ", " + at + " (per step)", v->first, v->second,
                 bw ? bytes / bw : 0};
      fig.vs_decode = v->first / t->first;
      figures.push_back(fig);
    }
    for (auto& s : *seqs) r.remove_sequence(s.seq_id);
  }
  bench.reset_blocks();
  {
    bench.set_decode_room(0);
    auto warm = bench.prefill(1, f.prefill_len);  // warm-up (plans, allocator)
    if (!warm.ok()) return fail(warm.status());
    r.remove_sequence((*warm)[0].seq_id);
    bench.reset_blocks();
    const auto t0 = Clock::now();
    auto steps = bench.prefill(1, f.prefill_len);
    if (!steps.ok()) return fail(steps.status());
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const double fl = cost.prefill_flops(f.prefill_len);
    figures.push_back(
        {"prefill " + std::to_string(f.prefill_len) + " tokens", secs, 0, flops ? fl / flops : 0});
  }
  if (f.prefill_chunk > 0) {
    bench.reset_blocks();
    auto chunks = bench.prefill_chunks(f.prefill_len, f.prefill_chunk);
    if (!chunks.ok()) return fail(chunks.status());
    for (size_t i = 0; i < chunks->size(); ++i) {
      const int at = static_cast<int>(i) * f.prefill_chunk;
      const int n = std::min(f.prefill_chunk, f.prefill_len - at);
      const double fl = cost.prefill_flops(n, at);
      figures.push_back({"prefill chunk at " + std::to_string(at) + " (+" + std::to_string(n) + ")",
                         (*chunks)[i], 0, flops ? fl / flops : 0});
    }
  }

  const std::string gpu = peaks.ok() ? peaks->device_name : r.backend().name();
  std::printf(
      "device: %s   weights: %.2f GB   copy bandwidth: %.0f GB/s   bf16 GEMM: %.0f TFLOP/s\n",
      gpu.c_str(), static_cast<double>(r.model_weight_bytes()) / 1e9, bw / 1e9, flops / 1e12);
  const protocol::SamplingParams& sp = f.sampling;
  std::printf(
      "sampling: temperature %g, top-k %d, top-p %g, min-p %g, penalties (repetition %g, "
      "presence %g, frequency %g), logprobs %d\n",
      sp.temperature, sp.top_k, sp.top_p, sp.min_p, sp.repetition_penalty, sp.presence_penalty,
      sp.frequency_penalty, sp.num_logprobs);
  std::printf("%-36s %12s %12s %10s\n", "measurement", "time (ms)", "floor (ms)", "of limit");
  for (const Figure& fig : figures)
    std::printf("%-36s %12.3f %12.3f %9.1f%%\n", fig.name.c_str(), fig.seconds * 1e3,
                fig.floor * 1e3, fig.floor > 0 ? 100.0 * fig.floor / fig.seconds : 0.0);
  for (const Figure& fig : figures) {
    if (fig.cpu_seconds > 0)
      std::printf("%s: %.3f ms of CPU time\n", fig.name.c_str(), fig.cpu_seconds * 1e3);
  }
  for (const Figure& fig : figures) {
    if (fig.graph_batch > 0)
      std::printf("%s: CUDA graph of batch %d, %d kernels per step\n", fig.name.c_str(),
                  fig.graph_batch, fig.graph_kernels);
  }
  for (const Figure& fig : figures) {
    if (fig.new_contexts >= 0)
      std::printf("%s: %d grammar contexts classified in the timed steps (once per schema)\n",
                  fig.name.c_str(), fig.new_contexts);
  }
  for (const Figure& fig : figures) {
    if (fig.vs_decode > 0)
      std::printf("%s: %.3fx the decode step\n", fig.name.c_str(), fig.vs_decode);
  }
  if (r.decode_graph_kernels().empty()) {
    std::printf("decode steps ran eagerly (no CUDA graphs)\n");
  } else {
    std::printf("CUDA graphs: %zu batch sizes, %.1f MiB of graph memory\n",
                r.decode_graph_kernels().size(),
                static_cast<double>(r.backend().graph_memory_bytes()) / (1 << 20));
  }
  if (constraint) std::printf("every sequence decoded under %s\n", f.json_schema.c_str());
  if (!f.output_json.empty()) {
    nlohmann::json j = {{"gpu", gpu},
                        {"backend", r.backend().name()},
                        {"model", std::filesystem::path(f.runner.model_dir).filename().string()},
                        {"shape",
                         {{"hidden_size", c.hidden_size},
                          {"intermediate_size", c.intermediate_size},
                          {"num_layers", c.num_layers},
                          {"num_heads", c.num_heads},
                          {"num_kv_heads", c.num_kv_heads},
                          {"head_dim", c.head_dim},
                          {"vocab_size", c.vocab_size},
                          {"tie_word_embeddings", c.tie_word_embeddings}}},
                        {"copy_bytes_per_s", bw},
                        {"gemm_flops_per_s", flops},
                        {"cuda_graphs", !r.decode_graph_kernels().empty()},
                        {"graph_memory_bytes", r.backend().graph_memory_bytes()},
                        {"json_schema", f.json_schema},
                        {"verify_k", f.verify_k},
                        {"sampling",
                         {{"temperature", f.sampling.temperature},
                          {"top_k", f.sampling.top_k},
                          {"top_p", f.sampling.top_p},
                          {"min_p", f.sampling.min_p},
                          {"repetition_penalty", f.sampling.repetition_penalty},
                          {"presence_penalty", f.sampling.presence_penalty},
                          {"frequency_penalty", f.sampling.frequency_penalty},
                          {"logprobs", f.sampling.num_logprobs}}},
                        {"figures", nlohmann::json::array()}};
    for (const Figure& fig : figures)
      j["figures"].push_back({{"name", fig.name},
                              {"seconds", fig.seconds},
                              {"cpu_seconds", fig.cpu_seconds},
                              {"floor_seconds", fig.floor},
                              {"of_limit", fig.floor > 0 ? fig.floor / fig.seconds : 0.0},
                              {"graph_batch", fig.graph_batch},
                              {"graph_kernels", fig.graph_kernels},
                              {"vs_decode", fig.vs_decode},
                              {"new_grammar_contexts", fig.new_contexts}});
    std::ofstream out(f.output_json);
    out << j.dump(1) << "\n";
    if (!out) return fail(unavailable("cannot write " + f.output_json));
  }
  return 0;
}

}  // namespace

void add_bench_engine_command(CLI::App& bench) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd =
      bench.add_subcommand("engine", "model runner speed against the device's physical limits");
  add_runner_flags(*cmd, flags->runner);
  cmd->add_option("--decode", flags->decode,
                  "decode points BATCHxCONTEXT (default: 1x128 64x1024)");
  cmd->add_option("--verify-k", flags->verify_k,
                  "at every decode point, also time verification steps of k proposed tokens "
                  "per sequence (speculative decoding), e.g. 1 2 4 8")
      ->check(CLI::Range(0, scheduler::kMaxSpeculativeTokens));
  cmd->add_option("--prefill-len", flags->prefill_len, "tokens of the prefill")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--prefill-chunk", flags->prefill_chunk,
                  "also prefill --prefill-len tokens in chunks of this many, each chunk timed "
                  "against its floor (chunked prefill over a growing context)")
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--decode-steps", flags->decode_steps, "timed decode steps")
      ->check(CLI::Range(1, 1 << 16));
  cmd->add_option("--json-schema", flags->json_schema,
                  "a JSON schema file: every sequence decodes under it (structured outputs)");
  cmd->add_option("--output-json", flags->output_json, "also write the figures as JSON");
  flags->sampling.temperature = 0.0f;
  add_distribution_flags(*cmd, flags->sampling);
  cmd->final_callback([flags] {
    int rc = run(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
