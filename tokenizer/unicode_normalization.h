// Unicode normalization forms (UAX #15) over valid UTF-8, with tables
// generated from the Unicode Character Database (unicode_tables.inc).
#pragma once

#include <string>
#include <string_view>

namespace pdserve::tokenizer {

// compat=false, compose=true: NFC; false/false: NFD; true/true: NFKC; true/false: NFKD.
std::string unicode_normalize(std::string_view text, bool compat, bool compose);

}  // namespace pdserve::tokenizer
