#include "structured/vocabulary.h"

#include <algorithm>

namespace pdserve::structured {

Result<std::shared_ptr<const Vocabulary>> Vocabulary::create(std::vector<std::string> token_bytes,
                                                             std::vector<int32_t> stop_token_ids) {
  if (token_bytes.empty()) return invalid_argument("structured: the vocabulary is empty");
  auto v = std::make_shared<Vocabulary>();
  v->bytes_ = std::move(token_bytes);
  v->is_stop_.assign(v->bytes_.size(), false);
  for (int32_t id : stop_token_ids) {
    if (id < 0 || static_cast<size_t>(id) >= v->bytes_.size()) {
      return invalid_argument("structured: stop token id " + std::to_string(id) +
                              " is outside the vocabulary");
    }
    if (!v->is_stop_[static_cast<size_t>(id)]) v->stop_ids_.push_back(id);
    v->is_stop_[static_cast<size_t>(id)] = true;
  }
  for (int32_t id = 0; id < v->size(); ++id) {
    if (!v->bytes_[static_cast<size_t>(id)].empty() && !v->is_stop(id))
      v->sorted_ids_.push_back(id);
  }
  std::sort(v->sorted_ids_.begin(), v->sorted_ids_.end(),
            [&](int32_t a, int32_t b) { return v->bytes(a) < v->bytes(b); });
  v->shared_prefix_len_.assign(v->sorted_ids_.size(), 0);
  for (size_t i = 1; i < v->sorted_ids_.size(); ++i) {
    std::string_view a = v->bytes(v->sorted_ids_[i - 1]);
    std::string_view b = v->bytes(v->sorted_ids_[i]);
    auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    v->shared_prefix_len_[i] = static_cast<int32_t>(ia - a.begin());
  }
  return std::shared_ptr<const Vocabulary>(std::move(v));
}

}  // namespace pdserve::structured
