#include "bench/result_report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace pdserve::bench {
namespace {

using nlohmann::json;

std::string line(const char* label, double value, int decimals = 2) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%-40s %.*f\n", label, decimals, value);
  return buf;
}

std::string line(const char* label, const std::string& value) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%-40s %s\n", label, value.c_str());
  return buf;
}

std::string rule(const std::string& title, char fill) {
  const size_t width = 50;
  std::string t = title.empty() ? "" : title;
  const size_t side = t.size() + 2 < width ? (width - t.size()) / 2 : 0;
  std::string out(side, fill);
  out += t;
  out.resize(width, fill);
  return out + "\n";
}

std::string distribution_block(const char* title, const char* name, const Distribution& d) {
  std::string out = rule(title, '-');
  const std::string n(name);
  out += line(("Mean " + n + " (ms):").c_str(), d.mean * 1e3);
  out += line(("Median " + n + " (ms):").c_str(), d.median * 1e3);
  out += line(("P90 " + n + " (ms):").c_str(), d.p90 * 1e3);
  out += line(("P99 " + n + " (ms):").c_str(), d.p99 * 1e3);
  out += line(("Std " + n + " (ms):").c_str(), d.std * 1e3);
  return out;
}

json distribution_json(const Distribution& d) {
  return {{"count", d.count},      {"mean_ms", d.mean * 1e3},
          {"std_ms", d.std * 1e3}, {"median_ms", d.median * 1e3},
          {"p90_ms", d.p90 * 1e3}, {"p99_ms", d.p99 * 1e3},
          {"min_ms", d.min * 1e3}, {"max_ms", d.max * 1e3}};
}

json optional_ms(const std::optional<double>& s) {
  return s ? json(*s * 1e3) : json(nullptr);
}

json rate_json(double rate) {
  return std::isinf(rate) ? json("inf") : json(rate);
}

}  // namespace

std::string summary_table(const BenchConfig& c, double rate, const BenchMetrics& m,
                          const std::vector<RequestRecord>& records, size_t max_failures_listed) {
  std::string out = rule(" Serving Benchmark Result ", '=');
  out += line("Endpoint:", c.base_url + c.endpoint);
  out += line("Dataset:", c.dataset);
  out += line("Request rate (req/s):", rate_name(rate));
  out += line("Max concurrency:",
              c.max_concurrency > 0 ? std::to_string(c.max_concurrency) : std::string("unbounded"));
  out += line("Successful requests:", std::to_string(m.completed));
  out += line("Failed requests:", std::to_string(m.failed));
  out += line("Benchmark duration (s):", m.duration_s);
  out += line("Total input tokens:", std::to_string(m.total_input_tokens));
  out += line("Total generated tokens:", std::to_string(m.total_output_tokens));
  out += line("Request throughput (req/s):", m.request_throughput);
  out += line("Output token throughput (tok/s):", m.output_throughput);
  out += line("Total token throughput (tok/s):", m.total_token_throughput);
  if (m.goodput) {
    out += line("Good requests (all SLOs met):", std::to_string(*m.good_requests));
    out += line("Request goodput (req/s):", *m.goodput);
  }
  out += distribution_block("Time to First Token", "TTFT", m.ttft_s);
  out += distribution_block("Time per Output Token (excl. 1st token)", "TPOT", m.tpot_s);
  out += distribution_block("Inter-token Latency", "ITL", m.itl_s);
  out += distribution_block("End-to-end Latency", "E2EL", m.e2e_s);
  if (m.failed > 0) {
    out += rule("Failed requests", '-');
    size_t listed = 0;
    for (const RequestRecord& r : records) {
      if (r.success) continue;
      if (listed++ == max_failures_listed) {
        out += "... and " + std::to_string(m.failed - static_cast<int>(max_failures_listed)) +
               " more (every one is in --output-json)\n";
        break;
      }
      out += "request " + std::to_string(r.id) + ": HTTP " + std::to_string(r.http_status) + ": " +
             r.error + "\n";
    }
  }
  out += rule("", '=');
  return out;
}

std::string result_json(const BenchConfig& c, double rate, const BenchMetrics& m,
                        const std::vector<RequestRecord>& records) {
  json config = {
      {"base_url", c.base_url},
      {"endpoint", c.endpoint},
      {"model", c.model},
      {"tokenizer", c.tokenizer},
      {"dataset", c.dataset},
      {"dataset_path", c.dataset_path},
      {"num_prompts", c.num_prompts},
      {"input_len", c.input_len},
      {"output_len", c.output_len},
      {"range_ratio", c.range_ratio},
      {"prefix_len", c.prefix_len},
      {"num_prefixes", c.num_prefixes},
      {"sharegpt_output_len", c.sharegpt_output_len ? json(*c.sharegpt_output_len) : json(nullptr)},
      {"ignore_eos", c.ignore_eos},
      {"temperature", c.temperature},
      {"seed", c.seed},
      {"request_rate", rate_json(rate)},
      {"burstiness", c.burstiness},
      {"max_concurrency", c.max_concurrency > 0 ? json(c.max_concurrency) : json(nullptr)},
      {"num_warmups", c.num_warmups},
      {"slo",
       {{"ttft_ms", optional_ms(c.parsed_slo.ttft_s)},
        {"tpot_ms", optional_ms(c.parsed_slo.tpot_s)},
        {"e2e_ms", optional_ms(c.parsed_slo.e2e_s)}}}};
  json metrics = {{"num_requests", m.num_requests},
                  {"completed", m.completed},
                  {"failed", m.failed},
                  {"duration_s", m.duration_s},
                  {"total_input_tokens", m.total_input_tokens},
                  {"total_output_tokens", m.total_output_tokens},
                  {"request_throughput", m.request_throughput},
                  {"output_throughput", m.output_throughput},
                  {"total_token_throughput", m.total_token_throughput},
                  {"good_requests", m.good_requests ? json(*m.good_requests) : json(nullptr)},
                  {"goodput", m.goodput ? json(*m.goodput) : json(nullptr)},
                  {"ttft", distribution_json(m.ttft_s)},
                  {"tpot", distribution_json(m.tpot_s)},
                  {"itl", distribution_json(m.itl_s)},
                  {"e2e", distribution_json(m.e2e_s)}};
  json reqs = json::array();
  for (const RequestRecord& r : records) {
    json itl = json::array();
    for (double g : r.itl_s) itl.push_back(g * 1e3);
    reqs.push_back(
        {{"id", r.id},
         {"success", r.success},
         {"input_len", r.input_len},
         {"expected_output_len", r.expected_output_len},
         {"output_len", r.output_len},
         {"usage_reported", r.usage_reported},
         {"usage_prompt_tokens",
          r.usage_prompt_tokens >= 0 ? json(r.usage_prompt_tokens) : json(nullptr)},
         {"start_ms", r.start_s * 1e3},
         {"ttft_ms", r.ttft_s * 1e3},
         {"e2e_ms", r.e2e_s * 1e3},
         {"tpot_ms", r.success && r.output_len > 1 ? json(tpot_of(r) * 1e3) : json(nullptr)},
         {"itl_ms", std::move(itl)},
         {"http_status", r.http_status},
         {"error", r.error.empty() ? json(nullptr) : json(r.error)}});
  }
  json root = {{"config", std::move(config)},
               {"metrics", std::move(metrics)},
               {"requests", std::move(reqs)}};
  return root.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return invalid_argument("--output-json " + path + ": cannot be written");
  out << text;
  out.close();
  if (!out) return invalid_argument("--output-json " + path + ": write failed");
  return ok_status();
}

}  // namespace pdserve::bench
