// UTF-8 helpers for the tokenizer: validation, code point iteration, and the
// lossy conversion that Hugging Face decoders apply to byte sequences.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pdserve::tokenizer {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Length in bytes of the UTF-8 sequence that starts with `lead` (1 for a
// continuation or invalid byte, so loops always advance).
size_t utf8_seq_len(unsigned char lead);

// Decodes the code point at s[i] and advances i. `s` must be valid UTF-8.
uint32_t next_code_point(std::string_view s, size_t& i);

void append_utf8(std::string& out, uint32_t cp);

// Valid UTF-8 from arbitrary bytes: each maximal invalid subpart becomes one
// U+FFFD (the Unicode-recommended practice, as Rust's from_utf8_lossy).
std::string utf8_lossy(std::string_view bytes);

// Unicode White_Space (Rust's char::is_whitespace).
bool is_unicode_whitespace(uint32_t cp);

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

}  // namespace pdserve::tokenizer
