// Python str operations shared by methods and filters (ASCII case mapping;
// non-ASCII characters keep their case).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pdserve::chat_template {

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left,
                     bool right);
// str.split(sep=None, maxsplit=-1); sep nullopt splits on runs of whitespace.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep,
                                   int64_t maxsplit);
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl,
                       int64_t count);
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
std::string py_capitalize(std::string_view s);  // str.capitalize
std::string py_title(std::string_view s);       // str.title
std::vector<std::string> py_splitlines(std::string_view s, bool keepends);

}  // namespace pdserve::chat_template
