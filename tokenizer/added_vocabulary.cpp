#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

void AddedVocabulary::Trie::insert(std::string_view key, int32_t token_idx) {
  if (key.empty()) return;
  first_byte[static_cast<unsigned char>(key[0])] = true;
  int32_t node = 0;
  for (char c : key) {
    const auto uc = static_cast<unsigned char>(c);
    auto it = nodes[node].next.find(uc);
    if (it == nodes[node].next.end()) {
      nodes.emplace_back();
      const auto child = static_cast<int32_t>(nodes.size() - 1);
      nodes[node].next.emplace(uc, child);
      node = child;
    } else {
      node = it->second;
    }
  }
  // The first token with this content wins (a later duplicate would shadow nothing new).
  if (nodes[node].token_idx < 0) nodes[node].token_idx = token_idx;
  empty = false;
}

size_t AddedVocabulary::Trie::longest_at(std::string_view text, size_t pos,
                                         int32_t* token_idx) const {
  if (!first_byte[static_cast<unsigned char>(text[pos])]) return 0;
  int32_t node = 0;
  size_t best = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto it = nodes[node].next.find(static_cast<unsigned char>(text[i]));
    if (it == nodes[node].next.end()) break;
    node = it->second;
    if (nodes[node].token_idx >= 0) {
      best = i + 1 - pos;
      *token_idx = nodes[node].token_idx;
    }
  }
  return best;
}

Result<std::unique_ptr<AddedVocabulary>> AddedVocabulary::create(std::vector<AddedToken> tokens,
                                                                 const Normalizer* normalizer) {
  auto v = std::make_unique<AddedVocabulary>();
  // Rust's regex \w (what HF tests single_word with): wider than PCRE2's.
  PD_ASSIGN_OR_RETURN(v->word_char_,
                      Regex::compile(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])"));
  v->tokens_ = std::move(tokens);
  // Special tokens come first in HF's matching order; the trie keeps the first per content.
  std::vector<size_t> order(v->tokens_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_partition(order.begin(), order.end(),
                        [&](size_t i) { return v->tokens_[i].special; });
  for (size_t i : order) {
    AddedToken& t = v->tokens_[i];
    if (t.content.empty()) continue;
    v->by_id_[t.id] = i;
    v->by_content_.emplace(t.content, i);
    if (!t.normalized) {
      v->raw_trie_.insert(t.content, static_cast<int32_t>(i));
    } else {
      std::string form = t.content;
      if (normalizer != nullptr) PD_RETURN_IF_ERROR(normalizer->normalize(form));
      if (form != t.content) t.normalized_form = form;
      v->normalized_trie_.insert(form, static_cast<int32_t>(i));
    }
  }
  return v;
}

const AddedToken* AddedVocabulary::find_by_id(int32_t id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::find_by_content(std::string_view content) const {
  const auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

std::vector<Segment> AddedVocabulary::split(std::string_view text, bool normalized_set,
                                            bool skip_special) const {
  return find_matches(text, normalized_set ? normalized_trie_ : raw_trie_, skip_special);
}

std::vector<Segment> AddedVocabulary::find_matches(std::string_view text, const Trie& trie,
                                                   bool skip_special) const {
  std::vector<Segment> out;
  if (trie.empty || text.empty()) {
    out.push_back({0, text.size(), -1});
    return out;
  }
  const auto is_word_at = [&](size_t pos) { return word_char_->matches_at(text, pos); };
  const auto char_start_before = [&](size_t pos) {
    size_t p = pos - 1;
    while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
    return p;
  };
  size_t cursor = 0;  // end of the last emitted segment
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t idx = -1;
    const size_t len = trie.longest_at(text, pos, &idx);
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;
    const AddedToken& t = tokens_[static_cast<size_t>(idx)];
    if (skip_special && t.special) continue;
    if (t.single_word) {
      const bool start_ok = start == 0 || !is_word_at(char_start_before(start));
      const bool stop_ok = stop == text.size() || !is_word_at(stop);
      if (!start_ok || !stop_ok) continue;
    }
    if (t.lstrip) {
      size_t s = start;
      while (s > 0) {
        const size_t p = char_start_before(s);
        size_t q = p;
        if (!is_unicode_whitespace(next_code_point(text, q))) break;
        s = p;
      }
      start = std::max(s, cursor);
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!is_unicode_whitespace(next_code_point(text, q))) break;
        stop = q;
      }
    }
    if (cursor < start) out.push_back({cursor, start, -1});
    out.push_back({start, stop, t.id});
    cursor = stop;
  }
  if (cursor != text.size()) out.push_back({cursor, text.size(), -1});
  return out;
}

}  // namespace pdserve::tokenizer
