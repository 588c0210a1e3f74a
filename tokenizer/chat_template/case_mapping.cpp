// Python's str.upper/lower/capitalize/title over UTF-8: ASCII, Latin-1,
// Latin Extended-A, Greek and Cyrillic are mapped (the scripts role names and
// content usually use); other code points, and invalid bytes, pass through.
#include <cstdint>

#include "tokenizer/chat_template/python_format.h"
#include "tokenizer/chat_template/string_ops.h"

namespace pdserve::chat_template {
namespace {

// Latin Extended-A pairs: mostly upper even / lower odd, except these runs (upper odd).
bool odd_upper_run(uint32_t c) {
  return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
}
bool no_pair(uint32_t c) {
  return c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149 || c == 0x17F;
}

uint32_t cp_upper(uint32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return c;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;
  if (c >= 0x100 && c <= 0x17F) {
    if (c == 0x131) return 'I';
    if (c == 0x17F) return 'S';
    if (no_pair(c)) return c;
    return odd_upper_run(c) ? (c % 2 == 0 ? c - 1 : c) : (c % 2 == 1 ? c - 1 : c);
  }
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x3B1 && c <= 0x3C9) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  return c;
}

uint32_t cp_lower(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F) {
    if (no_pair(c)) return c;
    return odd_upper_run(c) ? (c % 2 == 1 ? c + 1 : c) : (c % 2 == 0 ? c + 1 : c);
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool cp_cased(uint32_t c) {
  return cp_upper(c) != c || cp_lower(c) != c || c == 0xDF;
}

// Decodes the code point at s[*i] and advances; an invalid sequence yields
// nullopt-like 0xFFFFFFFF and advances one byte.
constexpr uint32_t kInvalid = 0xFFFFFFFF;
uint32_t next_cp(std::string_view s, size_t* i) {
  unsigned char b = static_cast<unsigned char>(s[*i]);
  size_t n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : 9;
  if (n == 0) {
    ++*i;
    return b;
  }
  if (n == 9 || *i + n >= s.size()) {
    ++*i;
    return kInvalid;
  }
  uint32_t cp = b & (0x3F >> n);
  for (size_t k = 1; k <= n; ++k) {
    unsigned char cb = static_cast<unsigned char>(s[*i + k]);
    if ((cb & 0xC0) != 0x80) {
      ++*i;
      return kInvalid;
    }
    cp = (cp << 6) | (cb & 0x3F);
  }
  *i += n + 1;
  return cp;
}

template <typename F>
std::string map_code_points(std::string_view s, F f) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    uint32_t cp = next_cp(s, &i);
    if (cp == kInvalid) {
      out.push_back(s[start]);
    } else {
      f(&out, cp);
    }
  }
  return out;
}

}  // namespace

std::string py_upper(std::string_view s) {
  return map_code_points(s, [](std::string* out, uint32_t cp) {
    if (cp == 0xDF) {
      *out += "SS";
    } else {
      append_utf8(out, cp_upper(cp));
    }
  });
}

std::string py_lower(std::string_view s) {
  return map_code_points(s, [](std::string* out, uint32_t cp) { append_utf8(out, cp_lower(cp)); });
}

std::string py_capitalize(std::string_view s) {
  bool first = true;
  return map_code_points(s, [&](std::string* out, uint32_t cp) {
    if (first && cp == 0xDF) {
      *out += "Ss";
    } else {
      append_utf8(out, first ? cp_upper(cp) : cp_lower(cp));
    }
    first = false;
  });
}

std::string py_title(std::string_view s) {
  bool prev_cased = false;
  return map_code_points(s, [&](std::string* out, uint32_t cp) {
    bool cased = cp_cased(cp);
    if (!cased) {
      append_utf8(out, cp);
    } else if (prev_cased) {
      append_utf8(out, cp_lower(cp));
    } else if (cp == 0xDF) {
      *out += "Ss";
    } else {
      append_utf8(out, cp_upper(cp));
    }
    prev_cased = cased;
  });
}

}  // namespace pdserve::chat_template
