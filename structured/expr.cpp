#include "structured/expr.h"

#include <algorithm>
#include <utility>

namespace pdserve::structured {

Expr Expr::literal(std::string bytes) {
  Expr e;
  e.kind = bytes.empty() ? Kind::kEmpty : Kind::kLiteral;
  e.text = std::move(bytes);
  return e;
}

Expr Expr::char_class(std::vector<CodepointRange> ranges) {
  Expr e;
  e.kind = Kind::kClass;
  e.ranges = normalize_ranges(std::move(ranges));
  return e;
}

Expr Expr::ref(int32_t rule_id) {
  Expr e;
  e.kind = Kind::kRule;
  e.rule = rule_id;
  return e;
}

Expr Expr::seq(std::vector<Expr> items) {
  if (items.size() == 1) return std::move(items[0]);
  Expr e;
  e.kind = items.empty() ? Kind::kEmpty : Kind::kSeq;
  e.children = std::move(items);
  return e;
}

Expr Expr::alt(std::vector<Expr> options) {
  if (options.size() == 1) return std::move(options[0]);
  Expr e;
  e.kind = Kind::kAlt;
  e.children = std::move(options);
  return e;
}

Expr Expr::repeat(Expr item, int32_t min, int32_t max) {
  Expr e;
  e.kind = Kind::kRepeat;
  e.children.push_back(std::move(item));
  e.min = min;
  e.max = max;
  return e;
}

std::vector<CodepointRange> normalize_ranges(std::vector<CodepointRange> ranges) {
  std::vector<CodepointRange> split;
  for (CodepointRange r : ranges) {
    r.hi = std::min(r.hi, kMaxCodepoint);
    if (r.lo > r.hi) continue;
    if (r.lo < 0xD800 && r.hi > 0xDFFF) {
      split.push_back({r.lo, 0xD7FF});
      split.push_back({0xE000, r.hi});
    } else if (r.lo >= 0xD800 && r.hi <= 0xDFFF) {
      continue;
    } else if (r.lo >= 0xD800 && r.lo <= 0xDFFF) {
      split.push_back({0xE000, r.hi});
    } else if (r.hi >= 0xD800 && r.hi <= 0xDFFF) {
      split.push_back({r.lo, 0xD7FF});
    } else {
      split.push_back(r);
    }
  }
  std::sort(split.begin(), split.end(),
            [](const CodepointRange& a, const CodepointRange& b) { return a.lo < b.lo; });
  std::vector<CodepointRange> merged;
  for (const CodepointRange& r : split) {
    if (!merged.empty() && r.lo <= merged.back().hi + 1) {
      merged.back().hi = std::max(merged.back().hi, r.hi);
    } else {
      merged.push_back(r);
    }
  }
  return merged;
}

std::vector<CodepointRange> complement_ranges(const std::vector<CodepointRange>& ranges) {
  std::vector<CodepointRange> out;
  uint32_t next = 0;
  for (const CodepointRange& r : normalize_ranges(ranges)) {
    if (r.lo > next) out.push_back({next, r.lo - 1});
    next = r.hi + 1;
  }
  if (next <= kMaxCodepoint) out.push_back({next, kMaxCodepoint});
  return normalize_ranges(std::move(out));
}

std::vector<CodepointRange> subtract_ranges(const std::vector<CodepointRange>& a,
                                            const std::vector<CodepointRange>& b) {
  std::vector<CodepointRange> both = complement_ranges(b);
  std::vector<CodepointRange> out;
  for (const CodepointRange& x : normalize_ranges(a)) {
    for (const CodepointRange& y : both) {
      uint32_t lo = std::max(x.lo, y.lo);
      uint32_t hi = std::min(x.hi, y.hi);
      if (lo <= hi) out.push_back({lo, hi});
    }
  }
  return normalize_ranges(std::move(out));
}

}  // namespace pdserve::structured
