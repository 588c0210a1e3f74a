// `pdserve bench serve` from the outside: one-line errors naming the flag,
// and failed requests listed (never dropped) when nothing answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/cli/cli_run.h"

namespace pdserve {
namespace {

using cli_test::CliRun;

CliRun run(const std::string& args) {
  return cli_test::run_pdserve("bench serve " + args);
}

const std::string kDemo = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo";
const std::string kOk = "--model pdserve-demo --tokenizer " + kDemo + " ";

TEST(BenchServeCliTest, BadInputGetsOneLineNamingTheFlag) {
  const std::vector<cli_test::CliCase> cases = {
      {"--tokenizer " + kDemo, "--model: give the served model's name"},
      {"--model m", "--tokenizer: give the model's directory"},
      {kOk + "--num-prompts abc", "--num-prompts"},
      {kOk + "--request-rate fast", "--request-rate: 'fast' is not a positive number or inf"},
      {kOk + "--request-rates 1,x", "--request-rates: 'x'"},
      {kOk + "--slo ttft=abc", "--slo: 'ttft=abc'"},
      {kOk + "--base-url https://api.openai.com",
       "--base-url https://api.openai.com: https is not supported"},
      {kOk + "--endpoint /v1/embeddings", "--endpoint"},
      {kOk + "--dataset sharegpt", "--dataset-path: required with --dataset sharegpt"},
      {kOk + "--dataset sharegpt --dataset-path /nonexistent.json",
       "--dataset-path /nonexistent.json: cannot be read"},
      {kOk + "--dataset nope", "--dataset: 'nope'"},
      {kOk + "--range-ratio 2", "--range-ratio"},
      {"--model m --tokenizer /nonexistent", "--tokenizer /nonexistent: no tokenizer.json there"},
      {kOk + "--frobnicate", "--frobnicate"},
      {kOk + "--num-warmups -1", "--num-warmups"},
      {kOk + "--num-warmups 2 --base-url http://127.0.0.1:1 --num-prompts 1 --input-len 4",
       "warm-up request failed: HTTP 0: UNAVAILABLE"},
  };
  cli_test::expect_one_line_errors("bench serve", cases);
}

TEST(BenchServeCliTest, MalformedShareGptFileIsOneLine) {
  const std::string path = std::string(PDSERVE_BINARY_DIR) + "/bench_serve_cli_bad.json";
  std::ofstream(path) << "[{\"conversations\": [{\"from\": \"human\"}]}]";
  CliRun r = run(kOk + "--dataset sharegpt --dataset-path " + path);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(path + ": entry 0, turn 0 has no string \"value\""), std::string::npos)
      << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST(BenchServeCliTest, UnreachableServerListsEveryFailedRequest) {
  // Port 1 on loopback: nothing listens, every connect is refused.
  const std::string json = std::string(PDSERVE_BINARY_DIR) + "/bench_serve_cli_refused.json";
  CliRun r = run(kOk +
                 "--base-url http://127.0.0.1:1 --num-prompts 3 --input-len 8 "
                 "--output-len 4 --output-json " +
                 json);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("Failed requests:                         3"), std::string::npos)
      << r.output;
  for (int i = 0; i < 3; ++i)
    EXPECT_NE(r.output.find("request " + std::to_string(i) + ": HTTP 0: UNAVAILABLE"),
              std::string::npos)
        << r.output;
  std::ifstream in(json);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"failed\": 3"), std::string::npos) << text.str().substr(0, 2000);
}

}  // namespace
}  // namespace pdserve
