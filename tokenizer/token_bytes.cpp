#include "tokenizer/token_bytes.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/decoders.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

Result<std::vector<std::string>> token_bytes(const Tokenizer& tokenizer) {
  const Pipeline& p = tokenizer.pipeline();
  if (dynamic_cast<const ByteLevelDecoder*>(p.decoder.get()) == nullptr) {
    return unimplemented(
        "token bytes: only byte-level (ByteLevel decoder) tokenizers are supported");
  }
  std::vector<std::string> out(static_cast<size_t>(tokenizer.vocab_size()));
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    if (!p.id_in_range(id) || tokenizer.is_special(id)) continue;
    const std::string& token = p.id_to_token[static_cast<size_t>(id)];
    std::string bytes;
    bool mapped = true;
    for (size_t i = 0; i < token.size() && mapped;) {
      int b = byte_level_byte(next_code_point(token, i));
      if (b < 0) mapped = false;
      bytes += static_cast<char>(b);
    }
    // An added (non-special) token is written as plain text, not byte-level.
    out[static_cast<size_t>(id)] = mapped ? bytes : token;
  }
  return out;
}

}  // namespace pdserve::tokenizer
