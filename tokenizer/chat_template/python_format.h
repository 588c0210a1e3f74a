// Python's text forms of numbers and strings, and UTF-8 code-point helpers
// (Python strings index by code point, not by byte).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pdserve::chat_template {

// repr(float): shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string python_float_repr(double d);
// repr(str): quoted with ' (or " when the text has ' and no "), escapes as Python.
std::string python_string_repr(std::string_view s);
// Byte offsets of each code point start, plus s.size() at the end.
std::vector<size_t> utf8_offsets(std::string_view s);
size_t utf8_length(std::string_view s);
// Appends the UTF-8 encoding of cp.
void append_utf8(std::string* out, uint32_t cp);
// Python's str.isspace for the ASCII range (space, \t, \n, \r, \v, \f).
bool is_py_space(char c);

}  // namespace pdserve::chat_template
