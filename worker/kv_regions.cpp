#include "worker/kv_regions.h"

#include <string>

namespace pdserve::worker {

std::string kv_compat_key(const runner::LlmRunner& runner) {
  const runner::KvCacheSpec& s = runner.kv_cache().spec();
  const model::ModelConfig& c = runner.config();
  return "pdserve-kv-v1;layers=" + std::to_string(s.num_layers) +
         ";kv_heads=" + std::to_string(s.num_kv_heads) + ";head_dim=" + std::to_string(s.head_dim) +
         ";block_size=" + std::to_string(s.block_size) +
         ";dtype=" + std::string(backend::dtype_name(s.dtype)) +
         ";layout=block,kv,slot,head;vocab=" + std::to_string(c.vocab_size) + ";tp=1";
}

bool kv_pool_on_device(runner::LlmRunner& runner) {
  return runner.backend().name() != "cpu";
}

Result<KvRegions> register_kv_regions(kvtransfer::Agent& agent, runner::LlmRunner& runner) {
  const bool device = kv_pool_on_device(runner);
  KvRegions r;
  r.block_size = runner.block_size();
  r.compat_key = kv_compat_key(runner);
  for (backend::KvLayer& layer : runner.kv_cache().layers()) {
    r.block_bytes = layer.block_bytes();
    PD_ASSIGN_OR_RETURN(uint64_t id, agent.register_region(layer.data.data(), layer.data.nbytes(),
                                                           device ? kvtransfer::MemoryKind::kDevice
                                                                  : kvtransfer::MemoryKind::kHost));
    r.layer_regions.push_back(id);
  }
  return r;
}

std::vector<kvtransfer::GrantRange> destination_ranges(const KvRegions& regions,
                                                       const std::vector<int32_t>& block_ids,
                                                       size_t first_block) {
  std::vector<kvtransfer::GrantRange> out;
  for (uint64_t region : regions.layer_regions) {
    for (size_t i = first_block; i < block_ids.size(); ++i) {
      out.push_back(
          {region, static_cast<uint64_t>(block_ids[i]) * regions.block_bytes, regions.block_bytes});
    }
  }
  return out;
}

}  // namespace pdserve::worker
