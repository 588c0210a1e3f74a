// The pipeline stages of a tokenizer.json, as small internal interfaces:
// normalizer -> pre-tokenizer -> model -> post-processor on the way in,
// decoder on the way out. Each stage is immutable after loading and safe to
// use from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace pdserve::tokenizer {

// A piece of text between the pipeline stages. `at_start`: the piece begins
// at offset 0 of the caller's text (Metaspace's prepend_scheme "first").
struct Piece {
  std::string text;
  bool at_start = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual Status normalize(std::string& text) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by their split (and transformed) pieces; empty pieces are dropped.
  virtual Status pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

// Decoding a window of ids that does not begin the text (incremental decoding)
// must not apply the effects that belong to the text's start.
struct DecodeContext {
  bool at_start = true;  // the first token is the first of the whole text
  bool fused = false;    // an earlier step joined tokens, so tokens[0] holds the text's start
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens, DecodeContext& ctx) const = 0;
  // Whether text already decoded can change when more tokens follow in ways
  // that are not a plain extension (trailing strip).
  virtual bool end_sensitive() const { return false; }
  virtual bool groups_byte_tokens() const { return false; }  // ByteFallback
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence (called only with add_special_tokens).
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

}  // namespace pdserve::tokenizer
