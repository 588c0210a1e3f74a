// Prefix-cache keys: a full block of tokens is identified by the chain of
// blocks before it, hash(parent_hash, block tokens, cache_salt). Two requests
// share a block only when every token before and in it is the same and they
// carry the same cache_salt (tenants with different salts never share).
//
// The function is part of the wire contract: workers publish these hashes
// (KvEvent) and the router computes the same chain over a tokenized prompt to
// find the worker with the longest cached prefix. It depends on nothing but
// the token values, the block size and the salt bytes (no std::hash).
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace pdserve::protocol {

using BlockHash = uint64_t;

// The parent of the first block.
inline constexpr BlockHash kRootBlockHash = 0x9e3779b97f4a7c15ULL;

BlockHash hash_block_tokens(BlockHash parent, std::span<const int32_t> block_tokens,
                            std::string_view cache_salt);

// Appends to *hashes the hashes of the full blocks of `tokens` that *hashes
// does not cover yet (hashes->size() blocks are taken as already hashed).
void extend_block_hashes(std::span<const int32_t> tokens, int block_size,
                         std::string_view cache_salt, std::vector<BlockHash>* hashes);

}  // namespace pdserve::protocol
