// IncrementalDecoder (declared in tokenizer.h). The text of the ids since the
// last cut is decoded again on each push; new text is returned once it cannot
// change any more (it does not end in U+FFFD of an unfinished character, and
// the last token is not a byte token still being grouped). The window is cut
// there when the decoder has no trailing effects, and the next window is
// decoded as a continuation (DecodeContext::at_start = false).
#include "tokenizer/decoders.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_(skip_special_tokens) {}

Result<std::string> IncrementalDecoder::push(int32_t id) {
  const Pipeline& p = tokenizer_.pipeline();
  if (!p.id_in_range(id))
    return out_of_range("token id " + std::to_string(id) + " is out of range");
  window_.push_back(id);
  auto text = p.decode(window_, skip_special_, at_start_);
  if (!text.ok()) {
    window_.pop_back();
    return text.status();
  }
  const std::string& t = *text;
  const bool unfinished_char =
      t.size() >= kReplacementChar.size() &&
      t.compare(t.size() - kReplacementChar.size(), kReplacementChar.size(), kReplacementChar) == 0;
  // Skipped ids vanish before the decoder runs, so a byte-token run can continue across them.
  const std::string& token = p.id_to_token[static_cast<size_t>(id)];
  if (!(skip_special_ && p.special_contents.count(token) != 0)) {
    unsigned char byte;
    last_kept_is_byte_ = p.decoder != nullptr && p.decoder->groups_byte_tokens() &&
                         ByteFallbackDecoder::byte_token_value(token, &byte);
  }
  const bool grouping = last_kept_is_byte_;
  if (unfinished_char || grouping || t.size() < emitted_) return std::string();
  std::string out = t.substr(emitted_);
  emitted_ = t.size();
  const bool end_sensitive = p.decoder != nullptr && p.decoder->end_sensitive();
  if (!t.empty() && !end_sensitive) {
    window_.clear();
    emitted_ = 0;
    at_start_ = false;
  }
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out;
  auto text = tokenizer_.pipeline().decode(window_, skip_special_, at_start_);
  if (text.ok() && text->size() >= emitted_) out = text->substr(emitted_);
  window_.clear();
  emitted_ = 0;
  at_start_ = true;
  last_kept_is_byte_ = false;
  return out;
}

}  // namespace pdserve::tokenizer
