// The structured-output mask work of one decode step at batch N, as the
// runner does it while the forward pass runs: N sequences under one JSON
// schema (each its own SequenceGrammar over the model folder's tokenizer,
// one compiled grammar shared through the compiler), each step's N masks
// computed and written into one buffer of N rows of the model's vocabulary
// (the upload buffer), then each sequence advanced by an allowed token of
// its own (seeded, the same in every run). Timed per step, after a first
// walk that classifies the contexts (the cold cost, paid once per grammar):
// the masks one after the other on one thread (the runner before the
// MaskWorker had a pool), and through MaskWorker pools of T threads plus
// the calling thread, as LlmRunner::execute waits for them.
//   mask_step_bench MODEL_DIR SCHEMA_FILE [BATCH] [STEPS] [THREADS...]
// THREADS defaults to 1, 2, 4 and MaskWorker::default_num_threads().
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "cli/structured_vocabulary.h"
#include "common/base/logging.h"
#include "engine/backend/sampling_row.h"
#include "engine/model/model_config.h"
#include "engine/runner/mask_worker.h"

namespace {

using namespace pdserve;
using Clock = std::chrono::steady_clock;

struct Setup {
  std::shared_ptr<structured::GrammarCompiler> compiler;
  protocol::OutputConstraint constraint;
  size_t words = 0;  // a mask row: backend::mask_words(the model's vocabulary)
};

// One walk of `steps` steps of `batch` fresh sequences; each step's masks by
// `compute` (jobs -> status); per-step milliseconds.
template <typename Compute>
std::vector<double> walk(const Setup& s, int batch, int steps, Compute&& compute) {
  std::vector<std::unique_ptr<runner::SequenceGrammar>> seqs;
  for (int i = 0; i < batch; ++i) {
    auto g = runner::SequenceGrammar::create(*s.compiler, s.constraint, {});
    PD_CHECK(g.ok()) << g.status().to_string();
    seqs.push_back(std::move(g).value());
  }
  std::vector<uint32_t> buffer(static_cast<size_t>(batch) * s.words);
  std::vector<std::mt19937> rng;
  for (int i = 0; i < batch; ++i) rng.emplace_back(static_cast<unsigned>(i + 1));
  std::vector<double> ms;
  std::vector<int32_t> allowed;
  for (int step = 0; step < steps; ++step) {
    std::vector<runner::MaskWorker::Job> jobs;
    for (size_t i = 0; i < seqs.size(); ++i)
      jobs.push_back({seqs[i].get(), {}, std::span(buffer).subspan(i * s.words, s.words)});
    const Clock::time_point t0 = Clock::now();
    Status st = compute(std::move(jobs));
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    PD_CHECK(st.ok()) << st.to_string();
    for (size_t i = 0; i < seqs.size(); ++i) {
      allowed.clear();
      for (size_t t = 0; t < s.words * 32; ++t)
        if ((buffer[i * s.words + t / 32] >> (t % 32)) & 1u)
          allowed.push_back(static_cast<int32_t>(t));
      PD_CHECK(!allowed.empty()) << "sequence " << i << ": no token allowed at step " << step;
      for (int tries = 0; !seqs[i]->accept(allowed[rng[i]() % allowed.size()]).ok(); ++tries)
        PD_CHECK(tries < 100) << "sequence " << i << ": no allowed token follows at step " << step;
    }
  }
  return ms;
}

void report(const char* name, std::vector<double> ms, int batch) {
  double sum = 0;
  for (double v : ms) sum += v;
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  std::printf("| %s | %.3f | %.3f | %.3f | %.1f |\n", name, median,
              sum / static_cast<double>(ms.size()), ms.back(), 1e3 * median / batch);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL_DIR SCHEMA_FILE [BATCH] [STEPS] [THREADS...]\n", argv[0]);
    return 2;
  }
  auto config = model::load_model_config(argv[1]);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().to_string().c_str());
    return 1;
  }
  auto compiler = cli::load_grammar_compiler(argv[1], config->eos_token_ids);
  if (!compiler.ok()) {
    std::fprintf(stderr, "%s\n", compiler.status().to_string().c_str());
    return 1;
  }
  std::ifstream in(argv[2]);
  if (!in) {
    std::fprintf(stderr, "%s: cannot read it\n", argv[2]);
    return 1;
  }
  Setup s{*compiler,
          {protocol::OutputConstraint::Kind::kJsonSchema, {}, {}},
          static_cast<size_t>(backend::mask_words(config->vocab_size))};
  s.constraint.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  const int batch = argc > 3 ? std::max(1, std::atoi(argv[3])) : 32;
  const int steps = argc > 4 ? std::max(1, std::atoi(argv[4])) : 64;
  std::vector<int> threads;
  for (int i = 5; i < argc; ++i) threads.push_back(std::max(1, std::atoi(argv[i])));
  if (threads.empty()) threads = {1, 2, 4, runner::MaskWorker::default_num_threads()};

  const auto one_thread = [](std::vector<runner::MaskWorker::Job> jobs) {
    Status first;
    for (const auto& j : jobs) {
      Status st = j.grammar->prepare(j.drafts);
      if (st.ok()) j.grammar->write_bits(j.words);
      if (first.ok()) first = std::move(st);
    }
    return first;
  };
  const Clock::time_point t0 = Clock::now();
  walk(s, batch, steps, one_thread);  // classifies the contexts the walks meet
  std::printf(
      "batch %d, %d steps; vocabulary: %d tokens (grammar), %d (model); %u cores\n"
      "first walk (cold contexts): %.1f ms\n\n",
      batch, steps, s.compiler->compile(s.constraint).value()->vocabulary().size(),
      config->vocab_size, std::thread::hardware_concurrency(),
      std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  std::printf(
      "| masks of a step | median ms | mean ms | max ms | us per row (median) |\n"
      "|---|---:|---:|---:|---:|\n");
  report("one thread, row after row", walk(s, batch, steps, one_thread), batch);
  for (int t : threads) {
    runner::MaskWorker worker(t);
    const auto pooled = [&](std::vector<runner::MaskWorker::Job> jobs) {
      return worker.start(std::move(jobs)).wait();
    };
    const std::string name = "MaskWorker, " + std::to_string(t) + " thread(s) + the caller";
    report(name.c_str(), walk(s, batch, steps, pooled), batch);
  }
  return 0;
}
