// Private to router/*.cpp: JSON text written straight into a string, byte
// for byte as nlohmann's dump(-1, ' ', false, replace) writes the same value
// (the router's one JSON form), for the per-token hot path where building a
// json object first costs more than the chunk is worth.
#pragma once

#include <string>
#include <string_view>

namespace pdserve::router::detail {

// Appends `s` as a JSON string literal: '"', '\\' and control characters
// escaped (\b \f \n \r \t, else \u00xx), invalid UTF-8 replaced by U+FFFD
// as nlohmann's replace handler does, everything else as is.
void append_json_string(std::string& out, std::string_view s);

}  // namespace pdserve::router::detail
