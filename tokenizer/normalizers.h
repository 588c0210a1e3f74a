// Normalizers of tokenizer.json: Sequence, Prepend, Replace, Strip and the
// Unicode normalization forms (NFC, NFD, NFKC, NFKD).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace pdserve::tokenizer {

class NormalizerSequence final : public Normalizer {
 public:
  explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  Status normalize(std::string& text) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// Prepends a string to non-empty text.
class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  Status normalize(std::string& text) const override;

 private:
  std::string prefix_;
};

// Replaces every non-overlapping occurrence of a string, or match of a regex (when
// `regex` is set), by `content`.
class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::string literal, std::unique_ptr<Regex> regex, std::string content)
      : literal_(std::move(literal)), regex_(std::move(regex)), content_(std::move(content)) {}
  Status normalize(std::string& text) const override;

 private:
  std::string literal_;
  std::unique_ptr<Regex> regex_;
  std::string content_;
};

// Strips Unicode whitespace at the left and/or right.
class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  Status normalize(std::string& text) const override;

 private:
  bool left_, right_;
};

enum class UnicodeForm { kNFC, kNFD, kNFKC, kNFKD };

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
  Status normalize(std::string& text) const override;

 private:
  UnicodeForm form_;
};

// Replaces all matches of `regex` or occurrences of `literal` in `text` by `content`.
Status replace_all(std::string& text, const std::string& literal, const Regex* regex,
                   const std::string& content);

}  // namespace pdserve::tokenizer
