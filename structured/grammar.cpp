#include "structured/grammar.h"

#include <cstdio>

namespace pdserve::structured {
namespace {

std::string byte_text(int b) {
  if (b >= 0x21 && b < 0x7F && b != '\\' && b != ']' && b != '-' && b != '^') {
    return std::string(1, static_cast<char>(b));
  }
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02X", b);
  return buf;
}

std::string set_text(const ByteSet& set) {
  std::string out = "[";
  for (int b = 0; b < 256;) {
    if (!set.test(static_cast<uint8_t>(b))) {
      ++b;
      continue;
    }
    int e = b;
    while (e + 1 < 256 && set.test(static_cast<uint8_t>(e + 1))) ++e;
    out += byte_text(b);
    if (e > b) {
      out += '-';
      out += byte_text(e);
    }
    b = e + 1;
  }
  return out + "]";
}

}  // namespace

std::string Grammar::to_string() const {
  std::string out;
  for (int32_t r = 0; r < num_rules(); ++r) {
    out += rule_name(r) + " ::=";
    bool first = true;
    for (int32_t pos : alternatives(r)) {
      if (!first) out += " |";
      first = false;
      if (at(pos).kind == Element::Kind::kEnd) out += " \"\"";
      for (; at(pos).kind != Element::Kind::kEnd; ++pos) {
        const Element& e = at(pos);
        out += " " +
               (e.kind == Element::Kind::kRule ? rule_name(e.index) : set_text(byte_set(e.index)));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace pdserve::structured
