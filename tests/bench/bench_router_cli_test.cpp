// `pdserve bench router` from the outside: a brief run against a router it
// starts itself, every scenario relayed without a failure and a report whose
// figures are consistent with each other; bad flags get one line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "tests/cli/cli_run.h"

namespace pdserve {
namespace {

using cli_test::CliRun;

CliRun run(const std::string& args) {
  return cli_test::run_pdserve("bench router " + args);
}

const std::string kDemo = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo";
constexpr int kOutputLen = 8;

TEST(BenchRouterCliTest, BriefRunReportsEveryScenario) {
  const std::string json_path = std::string(PDSERVE_BINARY_DIR) + "/bench_router_cli.json";
  std::remove(json_path.c_str());
  // With two CPUs or more, the router runs on CPU 0 and the benchmark on the others.
  const bool pinned = std::thread::hardware_concurrency() >= 2;
  CliRun r = run("--model " + kDemo + " --streams 4 --duration 0.3 --output-len " +
                 std::to_string(kOutputLen) +
                 " --step-interval-ms 2 --step-groups 2 --idle-connections 16 --router-threads 2 "
                 "--output-json " +
                 json_path + (pinned ? " --router-cpus 0" : ""));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("completions/stream/plain"), std::string::npos) << r.output;
  std::ifstream in(json_path);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(j.is_object()) << "no JSON report at " << json_path;
  EXPECT_EQ(j["router_threads"], 2);
  if (pinned) {
    EXPECT_NE(j["machine"].get<std::string>().find("router on CPUs 0, benchmark on "),
              std::string::npos)
        << j["machine"];
  }
  EXPECT_EQ(j["output_len"], kOutputLen);
  EXPECT_EQ(j["num_step_groups"], 2);
  std::set<std::string> names;
  for (const nlohmann::json& s : j["scenarios"]) {
    const std::string name = s["name"];
    names.insert(name);
    const int requests = s["num_requests"];
    EXPECT_GT(requests, 0) << name;
    EXPECT_EQ(s["num_failed"], 0) << name << ": " << s["errors"].dump();
    // Every request relayed exactly output_len tokens, checked against the text.
    EXPECT_EQ(s["num_tokens"], requests * kOutputLen) << name;
    const bool stream = name.find("/stream/") != std::string::npos;
    // Each replayed token is one chunk of text (ASCII, no stop string held
    // back), and each chunk and each full answer got its latency matched.
    EXPECT_EQ(s["num_chunks"], stream ? requests * kOutputLen : 0) << name;
    EXPECT_EQ(s["num_latency_samples"], stream ? requests * kOutputLen : requests) << name;
    EXPECT_GT(s["latency_p50_us"].get<double>(), 0) << name;
    EXPECT_LE(s["latency_p50_us"].get<double>(), s["latency_p99_us"].get<double>()) << name;
    EXPECT_GE(s["router_cpu_s"].get<double>(), 0) << name;
    // The router's connections to its decode worker go back to its pool after
    // each request: about one per stream, not one per request.
    EXPECT_GE(s["num_upstream_connections"], 1) << name;
    EXPECT_LE(s["num_upstream_connections"], 2 * 4) << name;
    EXPECT_GT(s["wall_s"].get<double>(), 0) << name;
    const double cpu = s["router_cpu_s"], tokens = s["num_tokens"];
    EXPECT_DOUBLE_EQ(s["cpu_us_per_token"].get<double>(), cpu * 1e6 / tokens) << name;
  }
  EXPECT_EQ(names.size(), 13u) << j["scenarios"].dump();
  EXPECT_EQ(names.count("direct/stream/plain"), 1u);
  EXPECT_EQ(j["num_idle_connections"], 16);
  EXPECT_TRUE(j["idle_connection_bytes"].is_number());
}

TEST(BenchRouterCliTest, BadInputGetsOneLine) {
  const std::vector<cli_test::CliCase> cases = {
      {"--model " + kDemo + " --router-url http://127.0.0.1:1",
       "--router-url and --router-pid go together"},
      {"--model " + kDemo + " --router-url http://127.0.0.1:1 --router-pid 1", "--cluster-token"},
      {"--model " + kDemo + " --scenario chat/stream/fast", "--scenario"},
      {"--model " + kDemo + " --router-cpus 0-x", "bad CPU list"},
      {"--model " + kDemo + " --router-cpus 2-1", "runs backwards"},
      {"--model " + kDemo + " --router-cpus 1023", "--router-cpus"},
      {"--model " + kDemo + " --router-cpus 0 --router-url http://127.0.0.1:1 --router-pid 1",
       "--router-cpus pins the router started here"},
      {"--model " + kDemo + " --streams 0", "--streams"},
      {"--model " + kDemo + " --step-groups 0", "--step-groups"},
      {"--model /nonexistent", "--model"},
  };
  cli_test::expect_one_line_errors("bench router", cases);
}

}  // namespace
}  // namespace pdserve
