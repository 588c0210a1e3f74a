#include "kvtransfer/backend_choice.h"

#include <gtest/gtest.h>

namespace pdserve::kvtransfer {
namespace {

using B = BackendKind;

TEST(BackendChoiceTest, DevicePoolsOnOneMachineTryCudaIpcFirst) {
  EXPECT_EQ(auto_backends({MemoryKind::kDevice, true, true}),
            (std::vector<B>{B::kCudaIpc, B::kUcx, B::kTcp}));
}

TEST(BackendChoiceTest, OtherwiseUcxThenTcp) {
  const std::vector<B> ucx_tcp{B::kUcx, B::kTcp};
  EXPECT_EQ(auto_backends({MemoryKind::kHost, true, true}), ucx_tcp);     // host pools
  EXPECT_EQ(auto_backends({MemoryKind::kDevice, false, true}), ucx_tcp);  // peers elsewhere
  EXPECT_EQ(auto_backends({MemoryKind::kDevice, true, false}), ucx_tcp);  // CPU build
}

TEST(BackendChoiceTest, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1", "127.0.0.1:5000", "127.1.2.3", "localhost", "localhost:80",
                        "::1", "[::1]", "[::1]:9000"}) {
    EXPECT_TRUE(is_loopback_address(a)) << a;
  }
  for (const char* a :
       {"0.0.0.0", "10.0.0.1:5000", "", "127.", "[::]", "::", "fe80::1", "192.168.1.127", "[::1"}) {
    EXPECT_FALSE(is_loopback_address(a)) << a;
  }
}

// The CPU build names what cuda_ipc needs in one line; a CUDA build without a
// device says it needs one.
TEST(BackendChoiceTest, CudaIpcWithoutCudaSaysWhatItNeeds) {
  AgentOptions o;
  o.backend = BackendKind::kCudaIpc;
  Result<std::unique_ptr<Agent>> agent = Agent::create(o);
  if (!cuda_ipc_built()) {
    ASSERT_FALSE(agent.ok());
    EXPECT_EQ(agent.status().code(), StatusCode::kUnimplemented);
    EXPECT_EQ(agent.status().message(),
              "the cuda_ipc backend needs the CUDA build (PDSERVE_CUDA=ON)");
  } else if (!agent.ok()) {
    EXPECT_EQ(agent.status().message(), "cuda_ipc needs a CUDA device");
  }
  EXPECT_EQ(parse_backend("cuda_ipc").value(), BackendKind::kCudaIpc);
  EXPECT_EQ(backend_name(BackendKind::kCudaIpc), "cuda_ipc");
}

}  // namespace
}  // namespace pdserve::kvtransfer
