#include "router/stop_matcher.h"

#include <algorithm>

namespace pdserve::router {
namespace {

// Length of an incomplete UTF-8 sequence at the end of s (0 when s ends on a
// code point boundary or with bytes that are not valid UTF-8 anyway).
size_t incomplete_utf8_tail(std::string_view s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const auto c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
    size_t need = 0;
    if ((c & 0xE0) == 0xC0)
      need = 2;
    else if ((c & 0xF0) == 0xE0)
      need = 3;
    else if ((c & 0xF8) == 0xF0)
      need = 4;
    return need > back ? back : 0;
  }
  return 0;
}

const std::string kEmpty;

}  // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (std::string& s : stops) {
    max_stop_len_ = std::max(max_stop_len_, s.size());
    stops_.push_back(std::move(s));  // empty ones kept (never match) so indices stay the caller's
  }
}

const std::string& StopMatcher::stop_string() const {
  return stopped_ ? stops_[static_cast<size_t>(stop_idx_)] : kEmpty;
}

size_t StopMatcher::hold_len() const {
  // The longest suffix of held_ that is a proper prefix of some stop string.
  const size_t limit = std::min(held_.size(), max_stop_len_ == 0 ? 0 : max_stop_len_ - 1);
  size_t hold = 0;
  for (size_t k = limit; k > 0 && hold == 0; --k) {
    const std::string_view tail = std::string_view(held_).substr(held_.size() - k);
    for (const std::string& s : stops_)
      if (s.size() > k && std::string_view(s).substr(0, k) == tail) {
        hold = k;
        break;
      }
  }
  return std::max(hold, incomplete_utf8_tail(held_));
}

StopMatcher::Output StopMatcher::feed(std::string_view piece) {
  Output out;
  if (stopped_) {
    out.stopped = true;
    out.stop_idx = stop_idx_;
    return out;
  }
  held_.append(piece);
  // No stop lies wholly in the text held before this piece (it would have
  // matched then), so each stop's first occurrence in held_ is its first in
  // the whole text.
  size_t best_end = std::string::npos, best_start = 0;
  for (size_t i = 0; i < stops_.size(); ++i) {
    const std::string& s = stops_[i];
    if (s.empty()) continue;
    const size_t pos = held_.find(s);
    if (pos == std::string::npos) continue;
    const size_t end = pos + s.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_end = end;
      best_start = pos;
      stop_idx_ = static_cast<int>(i);
    }
  }
  if (best_end != std::string::npos) {
    stopped_ = true;
    out.text = held_.substr(0, best_start);
    out.stopped = true;
    out.stop_idx = stop_idx_;
    held_.clear();
    return out;
  }
  const size_t keep = hold_len();
  out.text = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::finish() {
  std::string rest;
  rest.swap(held_);
  return rest;
}

}  // namespace pdserve::router
