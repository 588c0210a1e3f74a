// The loaded pieces of a tokenizer.json and the encode/decode steps over them
// (internal to the tokenizer library).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bpe_model.h"
#include "tokenizer/components.h"

namespace pdserve::tokenizer {

struct Pipeline {
  std::unique_ptr<Normalizer> normalizer;       // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<PostProcessor> post_processor;  // may be null
  std::unique_ptr<Decoder> decoder;               // may be null: tokens joined by spaces
  std::unique_ptr<AddedVocabulary> added;
  std::vector<std::string> id_to_token;  // index = id; empty string = no token
  std::vector<char> has_token;
  std::unordered_map<int32_t, std::string> decode_form;  // normalized added tokens
  std::vector<char> special;                             // per id
  std::unordered_set<std::string> special_contents;

  Status encode(std::string_view text, bool add_special, bool split_special,
                std::vector<int32_t>& ids) const;
  // Decodes ids[...] (all checked in range); at_start=false decodes a window
  // that continues earlier text (see DecodeContext).
  Result<std::string> decode(std::span<const int32_t> ids, bool skip_special, bool at_start) const;
  bool id_in_range(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < has_token.size() && has_token[id];
  }
};

// Builds the pipeline from tokenizer.json text (tokenizer_loader.cpp).
Result<std::unique_ptr<Pipeline>> load_pipeline(std::string_view json);

}  // namespace pdserve::tokenizer
