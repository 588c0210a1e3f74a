// GPT-2's reversible byte <-> printable character mapping (ByteLevel
// pre-tokenizer and decoder): bytes that are printable Latin-1 map to
// themselves, the others to U+0100 upwards.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace pdserve::tokenizer {

// UTF-8 of the character that stands for each byte.
const std::array<std::string, 256>& byte_level_chars();

// The byte a character stands for, or -1 when it stands for none.
int byte_level_byte(uint32_t cp);

}  // namespace pdserve::tokenizer
