// Pre-tokenizers of tokenizer.json: ByteLevel, Metaspace, Split, Digits,
// Whitespace, WhitespaceSplit and Sequence, with the split behaviours of
// Hugging Face tokenizers (removed, isolated, merged_with_previous,
// merged_with_next, contiguous; optionally inverted).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace pdserve::tokenizer {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// A piece of a split: a byte range and whether it is a delimiter match.
struct SplitRange {
  size_t begin, end;
  bool is_match;
};

// Splits `piece` by `ranges` (which cover it) under `behavior`; appends non-empty pieces.
void split_piece(const Piece& piece, std::vector<SplitRange> ranges, SplitBehavior behavior,
                 std::vector<Piece>& out);

// Ranges that cover `text`, built from the non-overlapping matches `spans`.
std::vector<SplitRange> ranges_from_spans(size_t text_len, const std::vector<Regex::Span>& spans);

class PreTokenizerSequence final : public PreTokenizer {
 public:
  explicit PreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  Status pre_tokenize(std::vector<Piece>& pieces) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// Splits by a regex or a literal string (literal empty and regex null: no split).
class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(std::string literal, std::unique_ptr<Regex> regex, SplitBehavior behavior,
                    bool invert)
      : literal_(std::move(literal)),
        regex_(std::move(regex)),
        behavior_(behavior),
        invert_(invert) {}
  Status pre_tokenize(std::vector<Piece>& pieces) const override;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  // `gpt2_regex` is the compiled GPT-2 split pattern when use_regex, else null.
  ByteLevelPreTokenizer(bool add_prefix_space, std::unique_ptr<Regex> gpt2_regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(gpt2_regex)) {}
  Status pre_tokenize(std::vector<Piece>& pieces) const override;
  static const char* gpt2_pattern();

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> regex_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  Status pre_tokenize(std::vector<Piece>& pieces) const override;

 private:
  std::string replacement_;  // one character, UTF-8
  PrependScheme scheme_;
  bool split_;
};

// Digits, Whitespace and WhitespaceSplit: a regex (or per-character whitespace test) with a
// fixed behaviour.
class RegexPreTokenizer final : public PreTokenizer {
 public:
  RegexPreTokenizer(std::unique_ptr<Regex> regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  Status pre_tokenize(std::vector<Piece>& pieces) const override;

 private:
  std::unique_ptr<Regex> regex_;
  SplitBehavior behavior_;
  bool invert_;
};

class WhitespaceSplitPreTokenizer final : public PreTokenizer {
 public:
  Status pre_tokenize(std::vector<Piece>& pieces) const override;
};

}  // namespace pdserve::tokenizer
