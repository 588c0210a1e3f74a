// A compiled regular expression (PCRE2 in UTF + UCP mode, so \p{L}, \s and \w
// are Unicode-aware, as Oniguruma is in Hugging Face tokenizers). The only
// place PCRE2 is used. Immutable after compile(); matching is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base/status.h"

namespace pdserve::tokenizer {

class Regex {
 public:
  using Span = std::pair<size_t, size_t>;  // [begin, end) byte offsets

  // kInvalidArgument naming the pattern and PCRE2's message when it does not compile.
  static Result<std::unique_ptr<Regex>> compile(std::string_view pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends every non-overlapping match of the valid UTF-8 `text`, left to
  // right. An empty match is reported and the search moves on one character.
  Status find_all(std::string_view text, std::vector<Span>& out) const;

  // True when the pattern matches at exactly `pos` (anchored there).
  bool matches_at(std::string_view text, size_t pos) const;

 private:
  struct Impl;
  explicit Regex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdserve::tokenizer
