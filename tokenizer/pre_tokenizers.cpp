#include "tokenizer/pre_tokenizers.h"

#include <algorithm>

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

std::vector<SplitRange> ranges_from_spans(size_t text_len, const std::vector<Regex::Span>& spans) {
  std::vector<SplitRange> ranges;
  if (text_len == 0) return {{0, 0, false}};
  size_t prev = 0;
  for (const auto& [begin, end] : spans) {
    if (prev != begin) ranges.push_back({prev, begin, false});
    ranges.push_back({begin, end, true});
    prev = end;
  }
  if (prev != text_len) ranges.push_back({prev, text_len, false});
  return ranges;
}

void split_piece(const Piece& piece, std::vector<SplitRange> ranges, SplitBehavior behavior,
                 std::vector<Piece>& out) {
  // (range, remove) after applying the behaviour.
  std::vector<std::pair<SplitRange, bool>> parts;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const auto& r : ranges) parts.push_back({r, false});
      break;
    case SplitBehavior::kRemoved:
      for (const auto& r : ranges) parts.push_back({r, r.is_match});
      break;
    case SplitBehavior::kContiguous:
      for (const auto& r : ranges) {
        if (r.is_match == previous_match && !parts.empty()) {
          parts.back().first.end = r.end;
        } else {
          parts.push_back({r, false});
        }
        previous_match = r.is_match;
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const auto& r : ranges) {
        if (r.is_match && !previous_match && !parts.empty()) {
          parts.back().first.end = r.end;
        } else {
          parts.push_back({r, false});
        }
        previous_match = r.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->is_match && !previous_match && !parts.empty()) {
          parts.back().first.begin = it->begin;
        } else {
          parts.push_back({*it, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
  }
  for (const auto& [r, remove] : parts) {
    if (remove || r.end <= r.begin) continue;
    out.push_back({piece.text.substr(r.begin, r.end - r.begin), piece.at_start && r.begin == 0});
  }
}

namespace {

void invert(std::vector<SplitRange>& ranges) {
  for (auto& r : ranges) r.is_match = !r.is_match;
}

Status split_all(std::vector<Piece>& pieces, const Regex* regex, const std::string& literal,
                 SplitBehavior behavior, bool inverted) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  std::vector<Regex::Span> spans;
  for (const Piece& piece : pieces) {
    spans.clear();
    if (regex != nullptr) {
      PD_RETURN_IF_ERROR(regex->find_all(piece.text, spans));
    } else if (!literal.empty()) {
      for (size_t pos = piece.text.find(literal); pos != std::string::npos;
           pos = piece.text.find(literal, pos + literal.size())) {
        spans.emplace_back(pos, pos + literal.size());
      }
    }
    std::vector<SplitRange> ranges = ranges_from_spans(piece.text.size(), spans);
    if (inverted) invert(ranges);
    split_piece(piece, std::move(ranges), behavior, out);
  }
  pieces = std::move(out);
  return ok_status();
}

// Ranges from a per-character predicate: each matching character is its own match.
template <typename Pred>
std::vector<SplitRange> char_ranges(std::string_view text, Pred pred) {
  std::vector<SplitRange> ranges;
  size_t last = 0, i = 0;
  while (i < text.size()) {
    const size_t begin = i;
    const uint32_t cp = next_code_point(text, i);
    if (pred(cp, begin, i)) {
      if (last < begin) ranges.push_back({last, begin, false});
      ranges.push_back({begin, i, true});
      last = i;
    }
  }
  if (i > last) ranges.push_back({last, i, false});
  return ranges;
}

}  // namespace

Status PreTokenizerSequence::pre_tokenize(std::vector<Piece>& pieces) const {
  for (const auto& step : steps_) PD_RETURN_IF_ERROR(step->pre_tokenize(pieces));
  return ok_status();
}

Status SplitPreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  return split_all(pieces, regex_.get(), literal_, behavior_, invert_);
}

Status RegexPreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  return split_all(pieces, regex_.get(), "", behavior_, invert_);
}

Status WhitespaceSplitPreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  std::vector<Piece> out;
  for (const Piece& piece : pieces) {
    auto ranges = char_ranges(
        piece.text, [](uint32_t cp, size_t, size_t) { return is_unicode_whitespace(cp); });
    split_piece(piece, std::move(ranges), SplitBehavior::kRemoved, out);
  }
  pieces = std::move(out);
  return ok_status();
}

const char* ByteLevelPreTokenizer::gpt2_pattern() {
  return R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
}

Status ByteLevelPreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  if (add_prefix_space_) {
    for (Piece& p : pieces) {
      if (p.text.empty() || p.text[0] != ' ') p.text = std::string(" ") + p.text;
    }
  }
  if (regex_ != nullptr) {
    PD_RETURN_IF_ERROR(split_all(pieces, regex_.get(), "", SplitBehavior::kIsolated, false));
  }
  const auto& chars = byte_level_chars();
  for (Piece& p : pieces) {
    std::string mapped;
    mapped.reserve(p.text.size() * 2);
    for (char c : p.text) mapped.append(chars[static_cast<unsigned char>(c)]);
    p.text = std::move(mapped);
  }
  return ok_status();
}

Status MetaspacePreTokenizer::pre_tokenize(std::vector<Piece>& pieces) const {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& piece : pieces) {
    PD_RETURN_IF_ERROR(replace_all(piece.text, " ", nullptr, replacement_));
    const bool starts = piece.text.compare(0, replacement_.size(), replacement_) == 0;
    if (!starts && (scheme_ == PrependScheme::kAlways ||
                    (scheme_ == PrependScheme::kFirst && piece.at_start))) {
      piece.text = replacement_ + piece.text;
    }
    if (!split_) {
      if (!piece.text.empty()) out.push_back(std::move(piece));
      continue;
    }
    const std::string& rep = replacement_;
    auto ranges = char_ranges(piece.text, [&](uint32_t, size_t begin, size_t end) {
      return piece.text.compare(begin, end - begin, rep) == 0;
    });
    split_piece(piece, std::move(ranges), SplitBehavior::kMergedWithNext, out);
  }
  pieces = std::move(out);
  return ok_status();
}

}  // namespace pdserve::tokenizer
