// Tokenizer for Hugging Face tokenizer.json files (BPE models, byte-level and
// SentencePiece-style), with the same ids and decodes as the `tokenizers`
// library. Loading validates the whole file: an unsupported component or a
// malformed file is a one-line kInvalidArgument naming the problem.
//
// Thread safety: a loaded Tokenizer is immutable (its BPE cache is internally
// locked); encode/decode may run concurrently. An IncrementalDecoder belongs
// to one stream and is not thread-safe; it must not outlive its Tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::tokenizer {

struct EncodeOptions {
  bool add_special_tokens = true;     // run the post-processor (BOS/EOS via TemplateProcessing)
  bool split_special_tokens = false;  // true: special-token strings in the text are plain text
};

struct Pipeline;

// The largest tokenizer.json accepted (the largest published ones are ~35 MB).
inline constexpr size_t kMaxTokenizerJsonBytes = size_t{256} << 20;

class Tokenizer {
 public:
  // Reads tokenizer.json: kNotFound when missing; kInvalidArgument when not a
  // regular file, over kMaxTokenizerJsonBytes, or not a valid tokenizer.
  static Result<std::unique_ptr<Tokenizer>> from_file(const std::string& tokenizer_json_path);
  static Result<std::unique_ptr<Tokenizer>> from_json(std::string_view json);
  ~Tokenizer();

  // kInvalidArgument for text that is not valid UTF-8.
  Result<std::vector<int32_t>> encode(std::string_view text,
                                      const EncodeOptions& options = {}) const;
  // Ids out of range are an error (kOutOfRange naming the id).
  Result<std::string> decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  int vocab_size() const;  // highest id + 1, added tokens included
  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;

  const Pipeline& pipeline() const { return *pipeline_; }

 private:
  explicit Tokenizer(std::unique_ptr<Pipeline> pipeline);
  std::unique_ptr<Pipeline> pipeline_;
};

// Streaming detokenization: push ids one at a time, get text as soon as it is
// stable; never a broken UTF-8 sequence; the concatenation of all push()es
// plus flush() equals decode(all ids). Cost per push is proportional to the
// ids since the last stable point (all ids for decoders that strip trailing
// characters, which no common model uses).
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = false);
  // kOutOfRange for an id out of range (the stream is unchanged).
  Result<std::string> push(int32_t id);
  // The text still held back (an incomplete character at the end), then a fresh stream.
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::vector<int32_t> window_;     // ids since the last cut
  size_t emitted_ = 0;              // bytes of the window's text already returned
  bool at_start_ = true;            // the window begins the stream
  bool last_kept_is_byte_ = false;  // the last id not skipped is a "<0xNN>" byte token
};

}  // namespace pdserve::tokenizer
