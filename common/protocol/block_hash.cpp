#include "common/protocol/block_hash.h"

#include "common/base/logging.h"

namespace pdserve::protocol {
namespace {

// splitmix64's finalizer: a bijective 64-bit mix.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t combine(uint64_t h, uint64_t v) {
  return mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6)));
}

}  // namespace

BlockHash hash_block_tokens(BlockHash parent, std::span<const int32_t> block_tokens,
                            std::string_view cache_salt) {
  uint64_t h = combine(parent, block_tokens.size());
  for (int32_t t : block_tokens) h = combine(h, static_cast<uint32_t>(t));
  h = combine(h, cache_salt.size());
  for (char c : cache_salt) h = combine(h, static_cast<unsigned char>(c));
  return h;
}

void extend_block_hashes(std::span<const int32_t> tokens, int block_size,
                         std::string_view cache_salt, std::vector<BlockHash>* hashes) {
  PD_CHECK(block_size > 0) << block_size;
  const size_t num_full = tokens.size() / static_cast<size_t>(block_size);
  while (hashes->size() < num_full) {
    const size_t i = hashes->size();
    const BlockHash parent = i == 0 ? kRootBlockHash : (*hashes)[i - 1];
    hashes->push_back(
        hash_block_tokens(parent, tokens.subspan(i * block_size, block_size), cache_salt));
  }
}

}  // namespace pdserve::protocol
