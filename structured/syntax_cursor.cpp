#include "structured/syntax_cursor.h"

#include <algorithm>
#include <cctype>

#include "structured/utf8_ranges.h"

namespace pdserve::structured {

bool SyntaxCursor::consume(char c) {
  if (peek() != c || at_end()) return false;
  ++pos_;
  return true;
}

Status SyntaxCursor::error(const std::string& message) const {
  return invalid_argument(what_ + ": " + message + " at offset " + std::to_string(pos_));
}

Result<uint32_t> SyntaxCursor::read_codepoint() {
  std::string window(text_.substr(pos_, 4));
  size_t idx = 0;
  uint32_t cp = 0;
  if (!decode_utf8(window, &idx, &cp)) return error("invalid UTF-8");
  pos_ += idx;
  return cp;
}

Result<uint32_t> SyntaxCursor::read_hex(int digits) {
  uint32_t value = 0;
  for (int i = 0; i < digits; ++i) {
    char c = peek();
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return error("expected " + std::to_string(digits) + " hex digits");
    }
    value = value * 16 + static_cast<uint32_t>(std::isdigit(static_cast<unsigned char>(c))
                                                   ? c - '0'
                                                   : std::tolower(c) - 'a' + 10);
    ++pos_;
  }
  if (value > kMaxCodepoint || (value >= 0xD800 && value <= 0xDFFF)) {
    return error("escape names no Unicode character");
  }
  return value;
}

Result<uint32_t> SyntaxCursor::read_escape() {
  if (at_end()) return error("a backslash ends the text");
  char c = peek();
  ++pos_;
  switch (c) {
    case 'n': return uint32_t{'\n'};
    case 't': return uint32_t{'\t'};
    case 'r': return uint32_t{'\r'};
    case 'f': return uint32_t{'\f'};
    case 'v': return uint32_t{'\v'};
    case '0': return uint32_t{0};
    case 'x': return read_hex(2);
    case 'u': return read_hex(4);
    case 'U': return read_hex(8);
    default: break;
  }
  if (std::isalnum(static_cast<unsigned char>(c))) {
    --pos_;
    return error(std::string("unsupported escape \\") + c);
  }
  if (static_cast<unsigned char>(c) >= 0x80) {
    --pos_;
    return read_codepoint();
  }
  return static_cast<uint32_t>(static_cast<unsigned char>(c));
}

std::optional<std::vector<CodepointRange>> shorthand_class(char letter) {
  std::vector<CodepointRange> ranges;
  switch (std::tolower(static_cast<unsigned char>(letter))) {
    case 'd': ranges = {{'0', '9'}}; break;
    case 'w': ranges = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}; break;
    case 's': ranges = {{'\t', '\r'}, {' ', ' '}}; break;
    default: return std::nullopt;
  }
  if (std::isupper(static_cast<unsigned char>(letter))) return complement_ranges(ranges);
  return normalize_ranges(std::move(ranges));
}

Result<std::vector<CodepointRange>> SyntaxCursor::read_class() {
  ++pos_;  // '['
  bool negate = consume('^');
  std::vector<CodepointRange> ranges;
  bool first = true;
  while (true) {
    if (at_end()) return error("unterminated character class");
    if (peek() == ']' && !first) {
      ++pos_;
      break;
    }
    first = false;
    if (peek() == '\\') {
      if (auto shorthand = shorthand_class(peek(1))) {
        pos_ += 2;
        ranges.insert(ranges.end(), shorthand->begin(), shorthand->end());
        continue;
      }
    }
    uint32_t lo = 0;
    if (consume('\\')) {
      PD_ASSIGN_OR_RETURN(lo, read_escape());
    } else {
      PD_ASSIGN_OR_RETURN(lo, read_codepoint());
    }
    uint32_t hi = lo;
    if (peek() == '-' && peek(1) != ']' && peek(1) != '\0') {
      ++pos_;
      if (consume('\\')) {
        PD_ASSIGN_OR_RETURN(hi, read_escape());
      } else {
        PD_ASSIGN_OR_RETURN(hi, read_codepoint());
      }
      if (hi < lo) return error("character range out of order");
    }
    ranges.push_back({lo, hi});
  }
  ranges = negate ? complement_ranges(ranges) : normalize_ranges(std::move(ranges));
  if (ranges.empty()) return error("character class matches nothing");
  return ranges;
}

Result<std::optional<Quantifier>> SyntaxCursor::read_quantifier() {
  Quantifier q;
  char c = peek();
  if (c == '*') {
    q = {0, kUnbounded};
  } else if (c == '+') {
    q = {1, kUnbounded};
  } else if (c == '?') {
    q = {0, 1};
  } else if (c == '{' && std::isdigit(static_cast<unsigned char>(peek(1)))) {
    size_t start = pos_;
    ++pos_;
    auto number = [&]() {
      int64_t n = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        n = std::min<int64_t>(n * 10 + (peek() - '0'), int64_t{1} << 30);
        ++pos_;
      }
      return static_cast<int32_t>(n);
    };
    q.min = number();
    q.max = q.min;
    if (consume(','))
      q.max = std::isdigit(static_cast<unsigned char>(peek())) ? number() : kUnbounded;
    if (!consume('}')) {
      pos_ = start;
      return error("malformed {m,n} repetition");
    }
    if (q.max != kUnbounded && q.max < q.min) {
      pos_ = start;
      return error("repetition {m,n} with n below m");
    }
    consume('?');
    return std::optional<Quantifier>(q);
  } else {
    return std::optional<Quantifier>();
  }
  ++pos_;
  if (peek() == '+') return error("possessive quantifiers are not supported");
  consume('?');
  return std::optional<Quantifier>(q);
}

}  // namespace pdserve::structured
