#include "tokenizer/bpe_model.h"

#include <cstdio>
#include <queue>

#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {

Result<std::unique_ptr<BpeModel>> BpeModel::create(
    std::unordered_map<std::string, int32_t> vocab,
    const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
  std::unique_ptr<BpeModel> m(new BpeModel(std::move(vocab), std::move(options)));
  for (const auto& [token, id] : m->vocab_) m->lookup_.emplace(token, id);
  const size_t prefix_len = m->options_.continuing_subword_prefix.size();
  m->merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const auto a = m->token_to_id(left);
    if (!a)
      return invalid_argument("merge " + std::to_string(rank) + " names token '" + left +
                              "' that is not in the vocabulary");
    const auto b = m->token_to_id(right);
    if (!b)
      return invalid_argument("merge " + std::to_string(rank) + " names token '" + right +
                              "' that is not in the vocabulary");
    std::string merged = left;
    if (prefix_len > 0 &&
        right.compare(0, prefix_len, m->options_.continuing_subword_prefix) == 0) {
      merged.append(right, prefix_len, std::string::npos);
    } else {
      merged.append(right);
    }
    const auto c = m->token_to_id(merged);
    if (!c)
      return invalid_argument("merge " + std::to_string(rank) + " makes token '" + merged +
                              "' that is not in the vocabulary");
    m->merges_[pair_key(*a, *b)] = {static_cast<int32_t>(rank), *c};
  }
  if (m->options_.unk_token) m->unk_id_ = m->token_to_id(*m->options_.unk_token);
  m->byte_ids_.assign(256, -1);
  if (m->options_.byte_fallback) {
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      if (auto id = m->token_to_id(name)) m->byte_ids_[b] = *id;
    }
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  const auto it = lookup_.find(token);
  if (it == lookup_.end()) return std::nullopt;
  return it->second;
}

Status BpeModel::tokenize(std::string_view piece, std::vector<int32_t>& ids) const {
  if (piece.empty()) return ok_status();
  if (options_.ignore_merges) {
    if (auto id = token_to_id(piece)) {
      ids.push_back(*id);
      return ok_status();
    }
  }
  const bool cacheable = piece.size() < kMaxCachedPieceLen;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    const auto it = cache_.find(piece);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return ok_status();
    }
  }
  const size_t first = ids.size();
  PD_RETURN_IF_ERROR(merge_word(piece, ids));
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_.size() < kCacheCapacity) {
      cache_.emplace(
          std::string(piece),
          std::vector<int32_t>(ids.begin() + static_cast<std::ptrdiff_t>(first), ids.end()));
    }
  }
  return ok_status();
}

Status BpeModel::merge_word(std::string_view piece, std::vector<int32_t>& ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    bool alive;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  const auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back({id, n - 1, -1, true});
  };
  int32_t pending_unk = -1;  // an unknown run not yet added (fuse_unk)
  std::string s;
  size_t i = 0;
  while (i < piece.size()) {
    const size_t begin = i;
    i += utf8_seq_len(static_cast<unsigned char>(piece[i]));
    if (i > piece.size()) i = piece.size();
    std::string_view ch = piece.substr(begin, i - begin);
    s.clear();
    if (begin > 0) s.append(options_.continuing_subword_prefix);
    s.append(ch);
    if (i == piece.size()) s.append(options_.end_of_word_suffix);
    if (auto id = token_to_id(s)) {
      if (pending_unk >= 0) {
        add(pending_unk);
        pending_unk = -1;
      }
      add(*id);
      continue;
    }
    if (options_.byte_fallback) {
      bool all = true;
      for (char c : s) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : s) add(byte_ids_[static_cast<unsigned char>(c)]);
        continue;
      }
    }
    if (options_.unk_token) {
      if (!unk_id_) {
        return failed_precondition("unk_token '" + *options_.unk_token +
                                   "' is not in the vocabulary");
      }
      if (pending_unk >= 0 && !options_.fuse_unk) add(pending_unk);
      pending_unk = *unk_id_;
    }
  }
  if (pending_unk >= 0) add(pending_unk);

  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  const auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    const auto it = merges_.find(pair_key(symbols[pos].id, symbols[next].id));
    if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
  };
  for (int32_t p = 0; p + 1 < static_cast<int32_t>(symbols.size()); ++p) push_pair(p);
  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    const int32_t right_pos = left.next;
    const auto it = merges_.find(pair_key(left.id, symbols[right_pos].id));
    if (it == merges_.end() || it->second.new_id != top.new_id) continue;
    left.id = top.new_id;
    symbols[right_pos].alive = false;
    left.next = symbols[right_pos].next;
    if (left.next >= 0) symbols[left.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& sym : symbols) {
    if (sym.alive) ids.push_back(sym.id);
  }
  return ok_status();
}

}  // namespace pdserve::tokenizer
