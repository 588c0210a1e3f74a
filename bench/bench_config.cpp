#include "bench/bench_config.h"

#include <charconv>
#include <cmath>
#include <filesystem>

#include "bench/base_url.h"

namespace pdserve::bench {

Result<double> parse_rate(std::string_view text, std::string_view flag) {
  if (text == "inf" || text == "Inf" || text == "INF") return kInfiniteRate;
  double x = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(x) ||
      x <= 0)
    return invalid_argument(std::string(flag) + ": '" + std::string(text) +
                            "' is not a positive number or inf");
  return x;
}

Result<std::vector<double>> parse_rates(std::string_view text, std::string_view flag) {
  std::vector<double> rates;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    PD_ASSIGN_OR_RETURN(double r, parse_rate(text.substr(pos, comma - pos), flag));
    rates.push_back(r);
    pos = comma + 1;
  }
  return rates;
}

std::string rate_name(double rate) {
  if (std::isinf(rate)) return "inf";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), rate);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string output_path_for_rate(const std::string& path, double rate, bool sweep) {
  if (!sweep) return path;
  const std::filesystem::path p(path);
  const std::string stem = p.stem().string() + "-rate" + rate_name(rate) + p.extension().string();
  return (p.parent_path() / stem).string();
}

Status validate_config(BenchConfig& c) {
  PD_ASSIGN_OR_RETURN(BaseUrl url, parse_base_url(c.base_url));
  (void)url;
  if (c.endpoint.empty() || c.endpoint[0] != '/')
    return invalid_argument("--endpoint: '" + c.endpoint + "' must start with '/'");
  if (c.endpoint.ends_with("/internal/v1/generate")) {
    c.internal = true;
    if (c.dataset == "sharegpt")
      return invalid_argument(
          "--endpoint: the internal API takes token-id prompts (--dataset random or prefix)");
  } else if (c.endpoint.ends_with("/chat/completions")) {
    c.chat = true;
  } else if (c.endpoint.ends_with("/completions")) {
    c.chat = false;
  } else {
    return invalid_argument("--endpoint: '" + c.endpoint +
                            "' is neither a completions nor a chat completions endpoint");
  }
  if (c.model.empty()) return invalid_argument("--model: give the served model's name");
  if (c.tokenizer.empty())
    return invalid_argument("--tokenizer: give the model's directory (with tokenizer.json)");
  if (c.dataset == "sharegpt") {
    if (c.dataset_path.empty())
      return invalid_argument("--dataset-path: required with --dataset sharegpt");
  } else if (c.dataset != "random" && c.dataset != "prefix") {
    return invalid_argument("--dataset: '" + c.dataset +
                            "' is not one of random, sharegpt, prefix");
  } else if (!c.dataset_path.empty()) {
    return invalid_argument("--dataset-path: only used with --dataset sharegpt");
  }
  if (c.num_prompts < 1) return invalid_argument("--num-prompts: must be at least 1");
  if (c.input_len < 1) return invalid_argument("--input-len: must be at least 1");
  if (c.output_len < 1) return invalid_argument("--output-len: must be at least 1");
  if (!(c.range_ratio >= 0 && c.range_ratio < 1))
    return invalid_argument("--range-ratio: must be in [0, 1)");
  if (c.dataset == "prefix") {
    if (c.prefix_len < 1) return invalid_argument("--prefix-len: must be at least 1");
    if (c.num_prefixes < 1) return invalid_argument("--num-prefixes: must be at least 1");
  }
  if (c.sharegpt_output_len && *c.sharegpt_output_len < 1)
    return invalid_argument("--sharegpt-output-len: must be at least 1");
  if (!(c.burstiness > 0)) return invalid_argument("--burstiness: must be positive");
  if (c.max_concurrency < 0) return invalid_argument("--max-concurrency: must be at least 1");
  if (c.num_warmups < 0) return invalid_argument("--num-warmups: must be at least 0");
  if (!(c.timeout_s > 0)) return invalid_argument("--timeout: must be positive");
  if (!(c.temperature >= 0)) return invalid_argument("--temperature: must be at least 0");
  if (!c.request_rates.empty()) {
    PD_ASSIGN_OR_RETURN(c.rates, parse_rates(c.request_rates, "--request-rates"));
  } else {
    PD_ASSIGN_OR_RETURN(double r, parse_rate(c.request_rate, "--request-rate"));
    c.rates = {r};
  }
  PD_ASSIGN_OR_RETURN(c.parsed_slo, parse_slo(c.slo));
  return ok_status();
}

}  // namespace pdserve::bench
