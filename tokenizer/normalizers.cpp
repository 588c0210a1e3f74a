#include "tokenizer/normalizers.h"

#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

Status NormalizerSequence::normalize(std::string& text) const {
  for (const auto& step : steps_) PD_RETURN_IF_ERROR(step->normalize(text));
  return ok_status();
}

Status PrependNormalizer::normalize(std::string& text) const {
  if (!text.empty()) text = prefix_ + text;
  return ok_status();
}

Status replace_all(std::string& text, const std::string& literal, const Regex* regex,
                   const std::string& content) {
  std::vector<Regex::Span> spans;
  if (regex != nullptr) {
    PD_RETURN_IF_ERROR(regex->find_all(text, spans));
  } else if (!literal.empty()) {
    for (size_t pos = text.find(literal); pos != std::string::npos;
         pos = text.find(literal, pos + literal.size())) {
      spans.emplace_back(pos, pos + literal.size());
    }
  }
  if (spans.empty()) return ok_status();
  std::string out;
  out.reserve(text.size());
  size_t prev = 0;
  for (const auto& [begin, end] : spans) {
    if (begin == end) continue;
    out.append(text, prev, begin - prev);
    out.append(content);
    prev = end;
  }
  out.append(text, prev, std::string::npos);
  text = std::move(out);
  return ok_status();
}

Status ReplaceNormalizer::normalize(std::string& text) const {
  return replace_all(text, literal_, regex_.get(), content_);
}

Status StripNormalizer::normalize(std::string& text) const {
  size_t begin = 0, end = text.size();
  if (left_) {
    while (begin < end) {
      size_t i = begin;
      if (!is_unicode_whitespace(next_code_point(text, i))) break;
      begin = i;
    }
  }
  if (right_) {
    while (end > begin) {
      size_t start = end - 1;
      while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      size_t i = start;
      if (!is_unicode_whitespace(next_code_point(text, i))) break;
      end = start;
    }
  }
  text = text.substr(begin, end - begin);
  return ok_status();
}

Status UnicodeNormalizer::normalize(std::string& text) const {
  switch (form_) {
    case UnicodeForm::kNFC:
      text = unicode_normalize(text, /*compat=*/false, /*compose=*/true);
      break;
    case UnicodeForm::kNFD: text = unicode_normalize(text, false, false); break;
    case UnicodeForm::kNFKC: text = unicode_normalize(text, true, true); break;
    case UnicodeForm::kNFKD: text = unicode_normalize(text, true, false); break;
  }
  return ok_status();
}

}  // namespace pdserve::tokenizer
