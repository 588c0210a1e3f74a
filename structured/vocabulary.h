// Vocabulary: the tokenizer's tokens as data (token id -> the bytes it
// decodes to), so structured/ never depends on tokenizer/. A token with no
// bytes (a special token such as <|im_start|>) is never allowed by a
// constraint; a stop token (eos, <|im_end|>, ...) is allowed exactly when the
// constrained text is complete. Immutable once made: share it between
// threads and grammars.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::structured {

class Vocabulary {
 public:
  // Fails on a stop token id outside [0, size) or an empty vocabulary.
  static Result<std::shared_ptr<const Vocabulary>> create(std::vector<std::string> token_bytes,
                                                          std::vector<int32_t> stop_token_ids);

  int32_t size() const { return static_cast<int32_t>(bytes_.size()); }
  std::string_view bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
  bool is_stop(int32_t id) const { return is_stop_[static_cast<size_t>(id)]; }
  const std::vector<int32_t>& stop_token_ids() const { return stop_ids_; }

  // Token ids with bytes, sorted by their bytes, and for each the length of
  // the prefix it shares with the one before it (0 for the first): the token
  // trie walked in order (token_classifier.h).
  const std::vector<int32_t>& sorted_ids() const { return sorted_ids_; }
  const std::vector<int32_t>& shared_prefix_len() const { return shared_prefix_len_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<bool> is_stop_;
  std::vector<int32_t> stop_ids_;
  std::vector<int32_t> sorted_ids_;
  std::vector<int32_t> shared_prefix_len_;
};

}  // namespace pdserve::structured
