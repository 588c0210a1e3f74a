// Flag checks (one line naming the flag), --base-url, rates and file names.
#include "bench/bench_config.h"

#include <gtest/gtest.h>

#include <cmath>

#include "bench/base_url.h"

namespace pdserve::bench {
namespace {

BenchConfig good() {
  BenchConfig c;
  c.model = "m";
  c.tokenizer = "/tmp";
  return c;
}

TEST(BenchConfigTest, AcceptsDefaultsAndDerivesFields) {
  BenchConfig c = good();
  ASSERT_TRUE(validate_config(c).ok());
  ASSERT_EQ(c.rates.size(), 1u);
  EXPECT_TRUE(std::isinf(c.rates[0]));
  EXPECT_FALSE(c.chat);
  c.endpoint = "/v1/chat/completions";
  c.request_rates = "1,2.5,inf";
  c.slo = "ttft=1s";
  ASSERT_TRUE(validate_config(c).ok());
  EXPECT_TRUE(c.chat);
  EXPECT_EQ(c.rates, (std::vector<double>{1, 2.5, kInfiniteRate}));
  EXPECT_DOUBLE_EQ(*c.parsed_slo.ttft_s, 1.0);
}

TEST(BenchConfigTest, BadInputNamesTheFlag) {
  struct Case {
    void (*edit)(BenchConfig&);
    const char* message;
  } cases[] = {
      {[](BenchConfig& c) { c.model.clear(); }, "--model"},
      {[](BenchConfig& c) { c.tokenizer.clear(); }, "--tokenizer"},
      {[](BenchConfig& c) { c.base_url = std::string("https://x"); },
       "--base-url https://x: https is not supported"},
      {[](BenchConfig& c) { c.base_url = std::string("127.0.0.1:8000"); },
       "--base-url 127.0.0.1:8000: expected http://"},
      {[](BenchConfig& c) { c.endpoint = std::string("/v1/embeddings"); },
       "--endpoint: '/v1/embeddings' is neither"},
      {[](BenchConfig& c) { c.dataset = std::string("mmlu"); }, "--dataset: 'mmlu' is not one of"},
      {[](BenchConfig& c) { c.dataset = std::string("sharegpt"); },
       "--dataset-path: required with --dataset sharegpt"},
      {[](BenchConfig& c) { c.dataset_path = std::string("x.json"); },
       "--dataset-path: only used with --dataset sharegpt"},
      {[](BenchConfig& c) { c.num_prompts = 0; }, "--num-prompts"},
      {[](BenchConfig& c) { c.input_len = 0; }, "--input-len"},
      {[](BenchConfig& c) { c.output_len = -1; }, "--output-len"},
      {[](BenchConfig& c) { c.range_ratio = 1.5; }, "--range-ratio"},
      {[](BenchConfig& c) {
         c.dataset = std::string("prefix");
         c.prefix_len = 0;
       },
       "--prefix-len"},
      {[](BenchConfig& c) {
         c.dataset = std::string("prefix");
         c.num_prefixes = 0;
       },
       "--num-prefixes"},
      {[](BenchConfig& c) { c.max_concurrency = -2; }, "--max-concurrency"},
      {[](BenchConfig& c) { c.burstiness = 0; }, "--burstiness"},
      {[](BenchConfig& c) { c.request_rate = std::string("fast"); },
       "--request-rate: 'fast' is not a positive number or inf"},
      {[](BenchConfig& c) { c.request_rate = std::string("0"); }, "--request-rate: '0'"},
      {[](BenchConfig& c) { c.request_rates = std::string("1,,2"); }, "--request-rates: ''"},
      {[](BenchConfig& c) { c.slo = std::string("ttfb=1s"); }, "--slo: 'ttfb=1s': unknown key"},
      {[](BenchConfig& c) { c.timeout_s = 0; }, "--timeout"},
  };
  for (const Case& k : cases) {
    BenchConfig c = good();
    k.edit(c);
    Status s = validate_config(c);
    ASSERT_FALSE(s.ok()) << k.message;
    EXPECT_EQ(s.message().rfind(k.message, 0), 0u) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
  }
}

TEST(BaseUrlTest, HostPortPrefix) {
  auto a = parse_base_url("http://127.0.0.1:8000");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8000);
  EXPECT_EQ(a->prefix, "");
  auto b = parse_base_url("http://example.com/openai/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "example.com");
  EXPECT_EQ(b->port, 80);
  EXPECT_EQ(b->prefix, "/openai");
  auto c = parse_base_url("http://[::1]:9000/x");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9000);
  EXPECT_FALSE(parse_base_url("http://h:99999").ok());
  EXPECT_FALSE(parse_base_url("http://:80").ok());
  EXPECT_FALSE(parse_base_url("http://u:p@h").ok());
}

TEST(RateTest, NamesAndSweepFiles) {
  EXPECT_EQ(rate_name(kInfiniteRate), "inf");
  EXPECT_EQ(rate_name(2), "2");
  EXPECT_EQ(rate_name(0.5), "0.5");
  EXPECT_EQ(output_path_for_rate("out/r.json", 2, false), "out/r.json");
  EXPECT_EQ(output_path_for_rate("out/r.json", 2, true), "out/r-rate2.json");
  EXPECT_EQ(output_path_for_rate("r.json", kInfiniteRate, true), "r-rateinf.json");
}

}  // namespace
}  // namespace pdserve::bench
