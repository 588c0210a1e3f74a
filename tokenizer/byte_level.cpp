#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {
namespace {

struct Tables {
  std::array<std::string, 256> chars;
  std::array<int, 324> bytes;  // code points stay below 0x100 + 68
  Tables() {
    bytes.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      append_utf8(chars[b], cp);
      bytes[cp] = b;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::array<std::string, 256>& byte_level_chars() {
  return tables().chars;
}

int byte_level_byte(uint32_t cp) {
  return cp < tables().bytes.size() ? tables().bytes[cp] : -1;
}

}  // namespace pdserve::tokenizer
