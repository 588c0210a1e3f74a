#include "structured/utf8_ranges.h"

namespace pdserve::structured {
namespace {

int encoded_len(uint32_t cp) {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

void push_sequences(uint32_t lo, uint32_t hi, std::vector<ByteRangeSeq>* out) {
  for (uint32_t max : {0x7Fu, 0x7FFu, 0xFFFFu}) {
    if (lo <= max && max < hi) {
      push_sequences(lo, max, out);
      push_sequences(max + 1, hi, out);
      return;
    }
  }
  int n = encoded_len(lo);
  for (int i = 1; i < n; ++i) {
    uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        push_sequences(lo, lo | m, out);
        push_sequences((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        push_sequences(lo, (hi & ~m) - 1, out);
        push_sequences(hi & ~m, hi, out);
        return;
      }
    }
  }
  std::string a = encode_utf8(lo);
  std::string b = encode_utf8(hi);
  ByteRangeSeq seq;
  for (size_t i = 0; i < a.size(); ++i) {
    seq.push_back({static_cast<uint8_t>(a[i]), static_cast<uint8_t>(b[i])});
  }
  out->push_back(std::move(seq));
}

}  // namespace

std::vector<ByteRangeSeq> utf8_sequences(CodepointRange range) {
  std::vector<ByteRangeSeq> out;
  for (const CodepointRange& r : normalize_ranges({range})) push_sequences(r.lo, r.hi, &out);
  return out;
}

std::string encode_utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

bool decode_utf8(const std::string& text, size_t* idx, uint32_t* codepoint) {
  size_t i = *idx;
  if (i >= text.size()) return false;
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t b0 = byte(i);
  int n = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + static_cast<size_t>(n) > text.size()) return false;
  uint32_t cp = n == 1 ? b0 : n == 2 ? (b0 & 0x1Fu) : n == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
  for (int k = 1; k < n; ++k) {
    uint8_t b = byte(i + static_cast<size_t>(k));
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  static constexpr uint32_t kMinForLen[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLen[n] || cp > kMaxCodepoint || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *codepoint = cp;
  *idx = i + static_cast<size_t>(n);
  return true;
}

}  // namespace pdserve::structured
