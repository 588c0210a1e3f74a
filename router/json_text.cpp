#include "router/internal/json_text.h"

#include "router/internal/logprobs_json.h"
#include "tokenizer/utf8.h"

namespace pdserve::router::detail {
namespace {

// The escape of byte c, or nullptr when c is written as is.
const char* escape_of(unsigned char c) {
  switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\b': return "\\b";
    case '\f': return "\\f";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    default: return nullptr;
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  if (!tokenizer::is_valid_utf8(s)) {
    // Rare (a token cut inside a character): nlohmann's own replacement.
    append_json_string(out, token_json(std::string(s)).get<std::string>());
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the bytes not yet appended
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    if (const char* e = escape_of(c)) {
      out.append(e);
    } else {
      const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out.append(u, sizeof u);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

}  // namespace pdserve::router::detail
