// SyntaxCursor: the reading position shared by the EBNF and regex parsers:
// UTF-8 code points, backslash escapes, bracket character classes and
// quantifiers read the same way in both. Errors name the front end
// ("grammar", "regex") and the byte offset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "structured/expr.h"

namespace pdserve::structured {

struct Quantifier {
  int32_t min = 0;
  int32_t max = kUnbounded;
};

class SyntaxCursor {
 public:
  SyntaxCursor(std::string_view text, std::string what) : text_(text), what_(std::move(what)) {}

  bool at_end() const { return pos_ >= text_.size(); }
  // The byte `ahead` bytes on, or '\0' past the end.
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance(size_t n = 1) { pos_ += n; }
  bool consume(char c);
  size_t pos() const { return pos_; }
  std::string_view rest() const { return text_.substr(pos_); }

  // "<what>: <message> at offset N".
  Status error(const std::string& message) const;

  // One UTF-8 encoded code point.
  Result<uint32_t> read_codepoint();
  // The character after a backslash (the cursor is past the backslash):
  // \n \t \r \f \v \0, \xHH, \uHHHH, \UHHHHHHHH, or a punctuation character
  // standing for itself. Letters with no meaning are an error.
  Result<uint32_t> read_escape();
  // [...] with ^ negation, ranges and escapes (\d \w \s and their negations
  // too); the cursor is on '['.
  Result<std::vector<CodepointRange>> read_class();
  // * + ? {m} {m,} {m,n} (a lazy '?' after one is accepted: the same
  // language). nullopt when none starts here; '{' without a count is not one.
  Result<std::optional<Quantifier>> read_quantifier();

 private:
  Result<uint32_t> read_hex(int digits);

  std::string_view text_;
  std::string what_;
  size_t pos_ = 0;
};

// The ranges of \d \w \s \D \W \S, or nullopt for another letter.
std::optional<std::vector<CodepointRange>> shorthand_class(char letter);

}  // namespace pdserve::structured
