#include "tokenizer/decoders.h"

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

void DecoderSequence::decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const {
  for (const auto& s : steps_) s->decode_chain(tokens, ctx);
}

bool DecoderSequence::end_sensitive() const {
  for (const auto& s : steps_) {
    if (s->end_sensitive()) return true;
  }
  return false;
}

bool DecoderSequence::groups_byte_tokens() const {
  for (const auto& s : steps_) {
    if (s->groups_byte_tokens()) return true;
  }
  return false;
}

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const {
  std::string bytes;
  for (const std::string& t : tokens) {
    const size_t mark = bytes.size();
    bool mapped = true;
    for (size_t i = 0; i < t.size();) {
      const int b = byte_level_byte(next_code_point(t, i));
      if (b < 0) {
        mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(b));
    }
    if (!mapped) {
      bytes.resize(mark);
      bytes.append(t);
    }
  }
  tokens.assign(1, utf8_lossy(bytes));
  ctx.fused = true;
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool drop = i == 0 && strip_first_ && ctx.at_start;
    std::string out;
    const std::string& t = tokens[i];
    for (size_t pos = 0; pos < t.size();) {
      const size_t n = utf8_seq_len(static_cast<unsigned char>(t[pos]));
      if (t.compare(pos, n, replacement_) == 0) {
        if (!drop) out.push_back(' ');
      } else {
        out.append(t, pos, n);
      }
      pos += n;
    }
    tokens[i] = std::move(out);
  }
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext&) const {
  for (std::string& t : tokens) {
    // Regex matching cannot fail on the short token strings; keep the token if it does.
    std::string copy = t;
    if (replace_all(copy, literal_, regex_.get(), content_).ok()) t = std::move(copy);
  }
}

bool ByteFallbackDecoder::byte_token_value(const std::string& token, unsigned char* byte) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return false;
  // Rust's u8::from_str_radix: an optional '+', then hex digits.
  const std::string digits = token.substr(3, 2);
  size_t k = digits[0] == '+' ? 1 : 0;
  if (k == digits.size()) return false;
  unsigned v = 0;
  for (; k < digits.size(); ++k) {
    const char c = digits[k];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = static_cast<unsigned>(c - 'A' + 10);
    else
      return false;
    v = v * 16 + d;
  }
  *byte = static_cast<unsigned char>(v);
  return true;
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext&) const {
  std::vector<std::string> out;
  out.reserve(tokens.size());
  std::string pending;
  const auto flush = [&] {
    if (pending.empty()) return;
    if (is_valid_utf8(pending)) {
      out.push_back(pending);
    } else {
      for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementChar);
    }
    pending.clear();
  };
  for (std::string& t : tokens) {
    unsigned char b;
    if (byte_token_value(t, &b)) {
      pending.push_back(static_cast<char>(b));
      continue;
    }
    flush();
    out.push_back(std::move(t));
  }
  flush();
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const {
  std::string all;
  for (const std::string& t : tokens) all.append(t);
  tokens.assign(1, std::move(all));
  ctx.fused = true;
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const {
  for (size_t k = 0; k < tokens.size(); ++k) {
    std::string& t = tokens[k];
    // Once tokens are fused, the first one holds the text's start: strip it only there.
    const size_t start_limit = (k == 0 && ctx.fused && !ctx.at_start) ? 0 : start_;
    std::vector<size_t> starts;  // character starts
    for (size_t i = 0; i < t.size(); i += utf8_seq_len(static_cast<unsigned char>(t[i]))) {
      starts.push_back(i);
    }
    const size_t n = starts.size();
    const auto is_content = [&](size_t c) {
      const size_t end = c + 1 < n ? starts[c + 1] : t.size();
      return t.compare(starts[c], end - starts[c], content_) == 0;
    };
    size_t cut_start = 0;
    while (cut_start < n && cut_start < start_limit && is_content(cut_start)) ++cut_start;
    size_t cut_stop = 0;
    while (cut_stop < n && cut_stop < stop_ && is_content(n - 1 - cut_stop)) ++cut_stop;
    if (cut_start + cut_stop == n) {
      t.clear();
      continue;
    }
    if (cut_start + cut_stop > n) {  // HF's unsigned count wraps: keep all after the start cut
      t = cut_start < n ? t.substr(starts[cut_start]) : std::string();
      continue;
    }
    const size_t b = starts[cut_start];
    const size_t e = cut_stop == 0 ? t.size() : starts[n - cut_stop];
    t = t.substr(b, e - b);
  }
}

}  // namespace pdserve::tokenizer
