#include "launcher/serve_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace pdserve::launcher {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

ServeOptions base_options() {
  ServeOptions o;
  o.pdserve_binary = "/opt/pdserve/bin/pdserve";
  o.model_dir = "/models/demo";
  o.cluster_token = "s3cret";
  return o;
}

std::string env_value(const Env& env, const std::string& name) {
  for (const auto& [k, v] : env) {
    if (k == name) return v;
  }
  return "<unset>";
}

TEST(ServePlanTest, OnePrefillOneDecodeAndTheRouter) {
  ServeOptions o = base_options();
  Result<ServePlan> plan = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_EQ(plan->children.size(), 3u);
  const ChildSpec& p = plan->children[0];
  const ChildSpec& d = plan->children[1];
  const ChildSpec& r = plan->children[2];
  EXPECT_EQ(p.name, "prefill-0");
  EXPECT_EQ(p.argv, (std::vector<std::string>{"/opt/pdserve/bin/pdserve", "prefill", "--model",
                                              "/models/demo", "--host", "127.0.0.1", "--port",
                                              "9001", "--device", "auto", "--kv-backend", "auto",
                                              "--gpu-memory-utilization", "0.45"}));
  EXPECT_EQ(p.health_host, "127.0.0.1");
  EXPECT_EQ(p.health_port, 9001);
  EXPECT_EQ(p.health_path, "/health");
  EXPECT_FALSE(p.after_previous_healthy);
  EXPECT_EQ(d.name, "decode-0");
  EXPECT_EQ(d.argv, (std::vector<std::string>{"/opt/pdserve/bin/pdserve", "decode", "--model",
                                              "/models/demo", "--host", "127.0.0.1", "--port",
                                              "9002", "--device", "auto", "--kv-backend", "auto",
                                              "--gpu-memory-utilization", "0.45"}));
  EXPECT_EQ(r.name, "router");
  EXPECT_EQ(r.argv, (std::vector<std::string>{"/opt/pdserve/bin/pdserve", "router", "--model",
                                              "/models/demo", "--host", "127.0.0.1", "--port",
                                              "8000", "--decode", "127.0.0.1:9002", "--prefill",
                                              "127.0.0.1:9001"}));
  EXPECT_TRUE(r.after_previous_healthy);
  EXPECT_EQ(r.health_port, 8000);
  EXPECT_EQ(plan->url, "http://127.0.0.1:8000");
}

TEST(ServePlanTest, TokenOnlyInTheEnvironmentAndNvlsOffEverywhere) {
  Result<ServePlan> plan = plan_serve(base_options(), ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->cluster_token, "s3cret");
  for (const ChildSpec& c : plan->children) {
    for (const std::string& arg : c.argv) EXPECT_EQ(arg.find("s3cret"), std::string::npos) << arg;
    EXPECT_EQ(env_value(c.env, "PDSERVE_CLUSTER_TOKEN"), "s3cret") << c.name;
    EXPECT_EQ(env_value(c.env, "NCCL_NVLS_ENABLE"), "0") << c.name;
    EXPECT_EQ(env_value(c.env, "CUDA_VISIBLE_DEVICES"), "<unset>") << c.name;
  }
}

TEST(ServePlanTest, EmptyTokenIsGeneratedAndSharedByAll) {
  ServeOptions o = base_options();
  o.cluster_token.clear();
  Result<ServePlan> a = plan_serve(o, ServePorts{{9001}, {9002}});
  Result<ServePlan> b = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->cluster_token.size(), 64u);
  EXPECT_EQ(a->cluster_token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a->cluster_token, b->cluster_token);
  for (const ChildSpec& c : a->children) {
    EXPECT_EQ(env_value(c.env, "PDSERVE_CLUSTER_TOKEN"), a->cluster_token);
  }
}

TEST(ServePlanTest, ManyWorkersGpusBackendAndExtraArgs) {
  ServeOptions o = base_options();
  o.host = "0.0.0.0";
  o.port = 8080;
  o.num_prefill = 2;
  o.num_decode = 2;
  o.prefill_gpus = {0, 1};
  o.decode_gpus = {2, 3};
  o.device = "cuda";
  o.kv_backend = "nccl";
  o.extra_worker_args = {"--block-size", "32"};
  o.extra_router_args = {"--policy", "round_robin"};
  Result<ServePlan> plan = plan_serve(o, ServePorts{{9001, 9002}, {9003, 9004}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_EQ(plan->children.size(), 5u);
  std::vector<std::string> names;
  for (const ChildSpec& c : plan->children) names.push_back(c.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"prefill-0", "prefill-1", "decode-0", "decode-1", "router"}));
  const char* gpus[] = {"0", "1", "2", "3"};
  for (size_t i = 0; i < 4; ++i) {
    const ChildSpec& w = plan->children[i];
    EXPECT_EQ(env_value(w.env, "CUDA_VISIBLE_DEVICES"), gpus[i]) << w.name;
    // Workers stay on loopback even when the router faces the network.
    EXPECT_EQ(w.argv[5], "127.0.0.1");
    std::vector<std::string> end(w.argv.end() - 8, w.argv.end());
    // One worker per GPU: each may take the whole 0.9.
    EXPECT_EQ(end,
              (std::vector<std::string>{"--device", "cuda", "--kv-backend", "nccl",
                                        "--gpu-memory-utilization", "0.9", "--block-size", "32"}));
  }
  const ChildSpec& r = plan->children[4];
  EXPECT_EQ(r.argv, (std::vector<std::string>{
                        "/opt/pdserve/bin/pdserve", "router", "--model", "/models/demo", "--host",
                        "0.0.0.0", "--port", "8080", "--decode", "127.0.0.1:9003,127.0.0.1:9004",
                        "--prefill", "127.0.0.1:9001,127.0.0.1:9002", "--policy", "round_robin"}));
  EXPECT_EQ(env_value(r.env, "CUDA_VISIBLE_DEVICES"), "<unset>");
  EXPECT_EQ(r.health_host, "127.0.0.1");  // 0.0.0.0 is reached on loopback
  EXPECT_EQ(plan->url, "http://127.0.0.1:8080");
}

TEST(ServePlanTest, SpeculativeConfigGoesToDecodeWorkersOnly) {
  ServeOptions o = base_options();
  o.speculative_config = R"({"method":"ngram","num_speculative_tokens":4})";
  o.extra_worker_args = {"--block-size", "32"};
  Result<ServePlan> plan = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  ASSERT_EQ(plan->children.size(), 3u);
  auto has_flag = [](const ChildSpec& c) {
    return std::find(c.argv.begin(), c.argv.end(), "--speculative-config") != c.argv.end();
  };
  EXPECT_FALSE(has_flag(plan->children[0])) << "prefill";
  EXPECT_FALSE(has_flag(plan->children[2])) << "router";
  const std::vector<std::string>& decode = plan->children[1].argv;
  std::vector<std::string> end(decode.end() - 4, decode.end());
  EXPECT_EQ(end, (std::vector<std::string>{"--speculative-config", o.speculative_config,
                                           "--block-size", "32"}));
}

TEST(ServePlanTest, WorkersSharingAGpuSplitItAndCpuWorkersGetNoShare) {
  auto share = [](const ChildSpec& c) -> std::string {
    auto it = std::find(c.argv.begin(), c.argv.end(), "--gpu-memory-utilization");
    return it == c.argv.end() ? "<none>" : *(it + 1);
  };
  ServeOptions o = base_options();
  o.num_prefill = 1;
  o.num_decode = 2;
  o.prefill_gpus = {1};
  o.decode_gpus = {0, 1};
  o.gpu_memory_utilization = 0.8;
  Result<ServePlan> plan = plan_serve(o, ServePorts{{9001}, {9002, 9003}});
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  EXPECT_EQ(share(plan->children[0]), "0.4");  // GPU 1, with decode-1
  EXPECT_EQ(share(plan->children[1]), "0.8");  // GPU 0 alone
  EXPECT_EQ(share(plan->children[2]), "0.4");
  o = base_options();
  o.device = "cpu";
  plan = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(share(plan->children[0]), "<none>");
  o = base_options();
  o.gpu_memory_utilization = 0;
  plan = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(share(plan->children[1]), "<none>");
}

TEST(ServePlanTest, NoPrefillWorkersMeansNoPrefillList) {
  ServeOptions o = base_options();
  o.num_prefill = 0;
  Result<ServePlan> plan = plan_serve(o, ServePorts{{}, {9002}});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->children.size(), 2u);
  const std::vector<std::string>& argv = plan->children[1].argv;
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--prefill"), argv.end());
}

TEST(ServePlanTest, Ipv6RouterHost) {
  ServeOptions o = base_options();
  o.host = "::";
  Result<ServePlan> plan = plan_serve(o, ServePorts{{9001}, {9002}});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->children.back().health_host, "::1");
  EXPECT_EQ(plan->url, "http://[::1]:8000");
}

TEST(ServePlanTest, RejectsBadOptions) {
  auto fails = [](const ServeOptions& o, const ServePorts& p) {
    Result<ServePlan> plan = plan_serve(o, p);
    return !plan.ok() && plan.status().code() == StatusCode::kInvalidArgument;
  };
  ServePorts ports{{9001}, {9002}};
  ServeOptions o = base_options();
  o.pdserve_binary.clear();
  EXPECT_TRUE(fails(o, ports));
  o = base_options();
  o.model_dir.clear();
  EXPECT_TRUE(fails(o, ports));
  o = base_options();
  o.num_decode = 0;
  EXPECT_TRUE(fails(o, ServePorts{{9001}, {}}));
  o = base_options();
  o.gpu_memory_utilization = 1.5;
  EXPECT_TRUE(fails(o, ports));
  o = base_options();
  o.prefill_gpus = {0, 1};  // two GPUs, one worker
  EXPECT_TRUE(fails(o, ports));
  o = base_options();
  o.decode_gpus = {-1};
  EXPECT_TRUE(fails(o, ports));
  o = base_options();
  o.device = "cpu";
  o.decode_gpus = {0};
  EXPECT_TRUE(fails(o, ports));
  EXPECT_TRUE(fails(base_options(), ServePorts{{9001, 9003}, {9002}}));  // count mismatch
  EXPECT_TRUE(fails(base_options(), ServePorts{{9001}, {9001}}));        // used twice
  EXPECT_TRUE(fails(base_options(), ServePorts{{8000}, {9002}}));        // the router's
  EXPECT_TRUE(fails(base_options(), ServePorts{{0}, {9002}}));
  o = base_options();
  o.port = 0;
  EXPECT_TRUE(fails(o, ports));
}

}  // namespace
}  // namespace pdserve::launcher
