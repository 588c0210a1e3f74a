// The KV pools of a worker as kvtransfer regions: one region per layer (the
// pool [num_blocks, 2, block_size, kv_heads * head_dim] is contiguous, so
// block b of layer l is bytes [b * block_bytes, (b + 1) * block_bytes) of
// region l). This is where engine blocks meet transfer regions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "engine/runner/llm_runner.h"
#include "kvtransfer/agent.h"

namespace pdserve::worker {

struct KvRegions {
  std::vector<uint64_t> layer_regions;  // region id of each layer's pool
  uint64_t block_bytes = 0;             // one block of one layer
  int block_size = 0;
  std::string compat_key;
};

// What two workers must agree on to exchange blocks: the model's KV geometry,
// dtype, block size and layout.
std::string kv_compat_key(const runner::LlmRunner& runner);

// True when the runner keeps its KV pools in device memory (any backend but cpu).
bool kv_pool_on_device(runner::LlmRunner& runner);

// Registers every layer's pool with the agent (host memory on the CPU
// backend, device memory on CUDA).
Result<KvRegions> register_kv_regions(kvtransfer::Agent& agent, runner::LlmRunner& runner);

// The bytes a remote prefill may write: blocks block_ids[first_block..] of
// every layer (what the decode worker grants for the transfer's epoch).
std::vector<kvtransfer::GrantRange> destination_ranges(const KvRegions& regions,
                                                       const std::vector<int32_t>& block_ids,
                                                       size_t first_block);

}  // namespace pdserve::worker
