// Exprs for JSON numbers within bounds: the digit strings of an integer
// range written out as alternatives of digit classes (the classic
// range-to-regex construction), and numbers with a fraction whose integer
// part decides the bound. Bounds are integers; an absent one is unbounded.
#pragma once

#include <cstdint>
#include <optional>

#include "structured/expr.h"

namespace pdserve::structured {

struct NumberBounds {
  std::optional<int64_t> min;  // |min|, |max| <= kMaxNumberBound
  std::optional<int64_t> max;
  bool min_exclusive = false;
  bool max_exclusive = false;
};

inline constexpr int64_t kMaxNumberBound = 1'000'000'000'000'000;  // 1e18

// JSON integers (no fraction, no exponent) n with min <= n <= max (or < / >
// when exclusive). The caller checks the range is not empty.
Expr integer_in_range(const NumberBounds& bounds);
// JSON numbers with an optional fraction and no exponent within the bounds.
Expr number_in_range(const NumberBounds& bounds);
// True when some integer, resp. number, satisfies the bounds.
bool integer_range_is_empty(const NumberBounds& bounds);
bool number_range_is_empty(const NumberBounds& bounds);

}  // namespace pdserve::structured
