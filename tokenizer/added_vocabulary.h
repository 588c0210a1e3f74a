// Added tokens (special or not) of tokenizer.json, matched in the text before
// the model runs: leftmost-longest, honouring single_word, lstrip, rstrip and
// normalized (normalized tokens match the normalized text, the others the raw
// text). Matching costs O(text length x longest token length).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/base/status.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace pdserve::tokenizer {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
  // The normalized content when normalized and the normalizer changes it: what
  // decoding feeds to the decoder (as HF does), else empty.
  std::string normalized_form;
};

// A range of the text: an added token (token_id >= 0) or plain text (-1).
struct Segment {
  size_t begin, end;
  int32_t token_id;
};

class AddedVocabulary {
 public:
  // `normalizer` (may be null) gives the form normalized tokens are matched in.
  // Fills each token's normalized_form.
  static Result<std::unique_ptr<AddedVocabulary>> create(std::vector<AddedToken> tokens,
                                                         const Normalizer* normalizer);

  // Splits `text` on the raw (normalized=false) or normalized tokens; segments cover
  // `text`. With skip_special, special tokens are not matched.
  std::vector<Segment> split(std::string_view text, bool normalized_set, bool skip_special) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* find_by_id(int32_t id) const;
  const AddedToken* find_by_content(std::string_view content) const;
  bool empty() const { return tokens_.empty(); }

 private:
  struct Trie {
    struct Node {
      std::unordered_map<unsigned char, int32_t> next;
      int32_t token_idx = -1;
    };
    std::vector<Node> nodes{Node{}};
    bool empty = true;
    bool first_byte[256] = {};  // some key starts with this byte
    void insert(std::string_view key, int32_t token_idx);
    // Longest key starting at text[pos]: its length (0 if none) and token index.
    size_t longest_at(std::string_view text, size_t pos, int32_t* token_idx) const;
  };
  std::vector<Segment> find_matches(std::string_view text, const Trie& trie,
                                    bool skip_special) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie raw_trie_, normalized_trie_;
  std::unique_ptr<Regex> word_char_;  // \w, for single_word
};

}  // namespace pdserve::tokenizer
