#include "cli/bench_serve_command.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include "bench/base_url.h"
#include "bench/bench_config.h"
#include "bench/bench_runner.h"
#include "bench/metrics.h"
#include "bench/result_report.h"
#include "bench/workload.h"
#include "cli/progress_bar.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::cli {
namespace {

using bench::BenchConfig;
using bench::BenchRequest;

Result<std::unique_ptr<tokenizer::Tokenizer>> load_tokenizer(const std::string& path) {
  std::error_code ec;
  const bool dir = std::filesystem::is_directory(path, ec);
  const std::string file = dir ? path + "/tokenizer.json" : path;
  if (!std::filesystem::exists(file, ec))
    return invalid_argument("--tokenizer " + path + ": no tokenizer.json there");
  auto tok = tokenizer::Tokenizer::from_file(file);
  if (!tok.ok()) return tok.status().with_context("--tokenizer " + path);
  return tok;
}

Result<std::vector<BenchRequest>> make_workload(const BenchConfig& c,
                                                const tokenizer::Tokenizer& tok) {
  if (c.dataset == "sharegpt") {
    bench::ShareGptOptions o;
    o.num_prompts = c.num_prompts;
    o.output_len = c.sharegpt_output_len;
    o.seed = c.seed;
    return bench::sharegpt_workload(tok, c.dataset_path, o);
  }
  if (c.dataset == "prefix") {
    bench::PrefixWorkloadOptions o;
    o.num_prompts = c.num_prompts;
    o.num_prefixes = c.num_prefixes;
    o.prefix_len = c.prefix_len;
    o.input_len = c.input_len;
    o.output_len = c.output_len;
    o.range_ratio = c.range_ratio;
    o.seed = c.seed;
    return bench::prefix_workload(tok, o);
  }
  bench::RandomWorkloadOptions o;
  o.num_prompts = c.num_prompts;
  o.input_len = c.input_len;
  o.output_len = c.output_len;
  o.range_ratio = c.range_ratio;
  o.seed = c.seed;
  return bench::random_workload(tok, o);
}

int run(BenchConfig c) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "pdserve bench serve: %s\n", s.message().c_str());
    return 1;
  };
  if (c.api_key.empty()) {
    if (const char* env = std::getenv("OPENAI_API_KEY")) c.api_key = env;
  }
  if (Status s = bench::validate_config(c); !s.ok()) return fail(s);
  auto url = bench::parse_base_url(c.base_url);
  if (!url.ok()) return fail(url.status());
  auto tok = load_tokenizer(c.tokenizer);
  if (!tok.ok()) return fail(tok.status());
  auto requests = make_workload(c, **tok);
  if (!requests.ok()) return fail(requests.status());

  bench::RunOptions o;
  o.base_url = *url;
  o.endpoint_path = c.endpoint;
  o.body.endpoint = c.internal ? bench::Endpoint::kInternalGenerate
                    : c.chat   ? bench::Endpoint::kChatCompletions
                               : bench::Endpoint::kCompletions;
  o.body.model = c.model;
  o.body.ignore_eos = c.ignore_eos;
  o.body.temperature = c.temperature;
  o.api_key = c.api_key;
  o.burstiness = c.burstiness;
  o.max_concurrency = c.max_concurrency;
  o.seed = c.seed;
  o.read_timeout = std::chrono::milliseconds(static_cast<int64_t>(c.timeout_s * 1000));
  if (c.num_warmups > 0) {
    // Not measured: wakes the server up (first allocations, page faults) and
    // stops early with the first error when the endpoint does not work.
    std::vector<BenchRequest> warm;
    for (int i = 0; i < c.num_warmups; ++i)
      warm.push_back((*requests)[static_cast<size_t>(i) % requests->size()]);
    bench::RunOptions wo = o;
    wo.request_rate = bench::kInfiniteRate;
    const bench::RunResult w = bench::run_benchmark(warm, wo, **tok);
    for (const bench::RequestRecord& r : w.records)
      if (!r.success)
        return fail(failed_precondition("warm-up request failed: HTTP " +
                                        std::to_string(r.http_status) + ": " + r.error));
  }
  const bool sweep = c.rates.size() > 1;
  int all_failed_runs = 0;
  for (double rate : c.rates) {
    o.request_rate = rate;
    bench::RunResult result;
    {
      ProgressBar bar("rate " + bench::rate_name(rate), requests->size());
      std::mutex bar_mu;
      result = bench::run_benchmark(*requests, o, **tok, [&](size_t done, size_t) {
        std::lock_guard lock(bar_mu);
        bar.update(done);
      });
    }
    const bench::BenchMetrics m =
        bench::compute_metrics(result.records, result.duration_s, c.parsed_slo);
    std::fputs(bench::summary_table(c, rate, m, result.records).c_str(), stdout);
    std::fflush(stdout);
    if (!c.output_json.empty()) {
      const std::string path = bench::output_path_for_rate(c.output_json, rate, sweep);
      Status s = bench::write_text_file(path, bench::result_json(c, rate, m, result.records));
      if (!s.ok()) return fail(s);
    }
    if (m.completed == 0) ++all_failed_runs;
  }
  if (all_failed_runs > 0)
    return fail(failed_precondition("every request failed in " + std::to_string(all_failed_runs) +
                                    " run(s); see the failed requests above"));
  return 0;
}

}  // namespace

void add_bench_serve_command(CLI::App& bench) {
  auto c = std::make_shared<BenchConfig>();
  CLI::App* cmd = bench.add_subcommand(
      "serve", "serving benchmark against an OpenAI-compatible server (TTFT, TPOT, ITL, E2E)");
  cmd->add_option("--base-url", c->base_url, "server, http://host:port[/prefix]")
      ->capture_default_str();
  cmd->add_option("--endpoint", c->endpoint,
                  "/v1/completions, /v1/chat/completions, or /internal/v1/generate (a pdserve "
                  "decode worker)")
      ->capture_default_str();
  cmd->add_option("--model", c->model, "model name sent in each request");
  cmd->add_option("--api-key", c->api_key, "bearer token (default: $OPENAI_API_KEY)");
  cmd->add_option("--tokenizer", c->tokenizer, "model directory holding tokenizer.json");
  cmd->add_option("--dataset", c->dataset, "random | sharegpt | prefix")->capture_default_str();
  cmd->add_option("--dataset-path", c->dataset_path, "ShareGPT JSON file (--dataset sharegpt)");
  cmd->add_option("--num-prompts", c->num_prompts, "requests per run")->capture_default_str();
  cmd->add_option("--input-len", c->input_len, "prompt tokens (random), question tokens (prefix)")
      ->capture_default_str();
  cmd->add_option("--output-len", c->output_len, "output tokens (random, prefix)")
      ->capture_default_str();
  cmd->add_option("--range-ratio", c->range_ratio, "lengths uniform in len*[1-r, 1+r]")
      ->capture_default_str();
  cmd->add_option("--prefix-len", c->prefix_len, "shared prefix tokens (prefix)")
      ->capture_default_str();
  cmd->add_option("--num-prefixes", c->num_prefixes, "distinct shared prefixes (prefix)")
      ->capture_default_str();
  cmd->add_option("--sharegpt-output-len", c->sharegpt_output_len,
                  "fixed output length instead of the gpt reply's (sharegpt)");
  cmd->add_flag("!--no-ignore-eos", c->ignore_eos, "let requests stop at EOS");
  cmd->add_option("--temperature", c->temperature, "sampling temperature")->capture_default_str();
  cmd->add_option("--seed", c->seed, "workload and arrival seed")->capture_default_str();
  cmd->add_option("--request-rate", c->request_rate,
                  "requests/s, Poisson arrivals; inf: all at once")
      ->capture_default_str();
  cmd->add_option("--request-rates", c->request_rates, "a sweep, e.g. 1,2,4,inf: one run per rate");
  cmd->add_option("--burstiness", c->burstiness, "gamma shape of the gaps; 1: Poisson")
      ->capture_default_str();
  cmd->add_option("--max-concurrency", c->max_concurrency,
                  "requests in flight at most; 0: no limit")
      ->capture_default_str();
  cmd->add_option("--num-warmups", c->num_warmups,
                  "unmeasured requests before the first run; any failure stops the benchmark")
      ->capture_default_str();
  cmd->add_option("--slo", c->slo, "goodput SLOs, e.g. ttft=200ms,tpot=25ms,e2e=2s");
  cmd->add_option("--output-json", c->output_json,
                  "result file; with --request-rates one per rate (NAME-rateR.json)");
  cmd->add_option("--timeout", c->timeout_s, "seconds of silence after which a stream fails")
      ->capture_default_str();
  cmd->final_callback([c] {
    int rc = run(*c);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace pdserve::cli
