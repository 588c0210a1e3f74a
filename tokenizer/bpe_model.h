// The BPE model: a vocabulary (token -> id) and ranked merges. Byte-level and
// SentencePiece-style variants differ only in their options (byte_fallback,
// unk_token, fuse_unk, ignore_merges). tokenize() is O(n log n) in the piece
// length (a priority queue over merge candidates) and caches pieces seen before.
// Thread-safe: the cache is guarded by a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace pdserve::tokenizer {

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel {
 public:
  // `merges` are (left, right) token strings in rank order. kInvalidArgument
  // when a merge names a token (or makes one) that is not in `vocab`.
  static Result<std::unique_ptr<BpeModel>> create(
      std::unordered_map<std::string, int32_t> vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options);

  // Appends the ids of one pre-tokenized piece.
  Status tokenize(std::string_view piece, std::vector<int32_t>& ids) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  const std::unordered_map<std::string, int32_t>& vocab() const { return vocab_; }

 private:
  struct MergeInfo {
    int32_t rank;
    int32_t new_id;
  };
  BpeModel(std::unordered_map<std::string, int32_t> vocab, BpeOptions options)
      : vocab_(std::move(vocab)), options_(std::move(options)) {}
  Status merge_word(std::string_view piece, std::vector<int32_t>& ids) const;
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::unordered_map<std::string, int32_t> vocab_;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> lookup_;
  std::unordered_map<uint64_t, MergeInfo> merges_;
  BpeOptions options_;
  std::optional<int32_t> unk_id_;
  std::vector<int32_t> byte_ids_;  // id of "<0xNN>" per byte, -1 when absent

  static constexpr size_t kMaxCachedPieceLen = 256;
  static constexpr size_t kCacheCapacity = 10000;
  mutable std::mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> cache_;
};

}  // namespace pdserve::tokenizer
