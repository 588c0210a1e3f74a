// The bytes each token id stands for, as structured/ needs its vocabulary
// (token id -> bytes; empty for special tokens and unused ids). Byte-level
// (GPT-2 style) tokenizers only: their tokens map back to bytes exactly,
// partial UTF-8 sequences included; any other decoder is an error.
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {

Result<std::vector<std::string>> token_bytes(const Tokenizer& tokenizer);

}  // namespace pdserve::tokenizer
