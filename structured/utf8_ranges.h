// UTF-8 encoding of code point ranges: a range becomes a few sequences of
// byte ranges (U+0080..U+07FF is [C2-DF][80-BF]), the way a byte-level
// automaton matches "one character of this class".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "structured/expr.h"

namespace pdserve::structured {

struct ByteRange {
  uint8_t lo = 0;
  uint8_t hi = 0;
};

// One alternative: byte i in seq[i]. The sequences of a range are disjoint
// and together match exactly the UTF-8 encodings of its code points.
using ByteRangeSeq = std::vector<ByteRange>;

std::vector<ByteRangeSeq> utf8_sequences(CodepointRange range);

std::string encode_utf8(uint32_t codepoint);

// Decodes the code point at text[*idx] and advances *idx; false on invalid
// UTF-8 (then *idx is unchanged).
bool decode_utf8(const std::string& text, size_t* idx, uint32_t* codepoint);

}  // namespace pdserve::structured
