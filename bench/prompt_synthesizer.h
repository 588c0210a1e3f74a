// Random prompts of an exact token length under a tokenizer: random ids
// (no special tokens), decoded, re-encoded and adjusted until the text
// encodes (without special tokens) to exactly the wanted number of ids.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::bench {

struct SyntheticPrompt {
  std::vector<int32_t> ids;  // == tokenizer.encode(text, no special tokens)
  std::string text;
};

// Not thread-safe (owns its random generator). Must not outlive the tokenizer.
class PromptSynthesizer {
 public:
  PromptSynthesizer(const tokenizer::Tokenizer& tokenizer, uint64_t seed);

  // kInvalidArgument when len < 1 or the tokenizer has no ordinary token;
  // kInternal when no exact text is found after many tries (not seen in practice).
  Result<SyntheticPrompt> make(int len);

 private:
  int32_t random_id();

  const tokenizer::Tokenizer& tokenizer_;
  std::mt19937_64 rng_;
  std::vector<int32_t> ordinary_ids_;  // ids that are not special tokens
};

}  // namespace pdserve::bench
