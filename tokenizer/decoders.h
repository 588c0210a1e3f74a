// Decoders of tokenizer.json: ByteLevel, Metaspace, Replace, ByteFallback,
// Fuse, Strip and Sequence. Each turns the list of token strings into another
// list; the tokenizer joins the final list.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace pdserve::tokenizer {

class DecoderSequence final : public Decoder {
 public:
  explicit DecoderSequence(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;
  bool end_sensitive() const override;
  bool groups_byte_tokens() const override;

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// Maps the byte-level characters back to bytes, then to (lossy) UTF-8 text: one string.
class ByteLevelDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;
};

class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, bool strip_first)
      : replacement_(std::move(replacement)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;

 private:
  std::string replacement_;
  bool strip_first_;  // prepend_scheme is not "never": the first token loses its replacement chars
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::string literal, std::unique_ptr<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

// Runs of "<0xNN>" tokens become their bytes (U+FFFD per byte when not valid UTF-8).
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;
  bool groups_byte_tokens() const override { return true; }
  static bool byte_token_value(const std::string& token, unsigned char* byte);
};

class FuseDecoder final : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;
};

// Removes up to `start` leading and `stop` trailing `content` characters of each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(std::string content, size_t start, size_t stop)
      : content_(std::move(content)), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const override;
  bool end_sensitive() const override { return stop_ > 0; }

 private:
  std::string content_;  // one character, UTF-8
  size_t start_, stop_;
};

}  // namespace pdserve::tokenizer
