#include "structured/number_ranges.h"

#include <string>
#include <vector>

namespace pdserve::structured {
namespace {

Expr digit() {
  return Expr::char_class({{'0', '9'}});
}
Expr digit_in(char lo, char hi) {
  return Expr::char_class({{static_cast<uint32_t>(lo), static_cast<uint32_t>(hi)}});
}

// Digit strings of one length n between x and y (inclusive, same length).
Expr same_length(const std::string& x, const std::string& y) {
  size_t n = x.size();
  if (n == 0) return Expr::empty();
  std::string xr = x.substr(1);
  std::string yr = y.substr(1);
  if (x[0] == y[0]) return Expr::seq({Expr::literal(std::string(1, x[0])), same_length(xr, yr)});
  std::string zeros(n - 1, '0');
  std::string nines(n - 1, '9');
  auto rest_any = [&]() {
    return Expr::repeat(digit(), static_cast<int32_t>(n - 1), static_cast<int32_t>(n - 1));
  };
  if (xr == zeros && yr == nines) return Expr::seq({digit_in(x[0], y[0]), rest_any()});
  std::vector<Expr> options;
  options.push_back(Expr::seq({Expr::literal(std::string(1, x[0])), same_length(xr, nines)}));
  if (x[0] + 1 <= y[0] - 1) {
    options.push_back(Expr::seq(
        {digit_in(static_cast<char>(x[0] + 1), static_cast<char>(y[0] - 1)), rest_any()}));
  }
  options.push_back(Expr::seq({Expr::literal(std::string(1, y[0])), same_length(zeros, yr)}));
  return Expr::alt(std::move(options));
}

// Decimal strings (no leading zeros) of the integers in [a, b]; b absent:
// no upper bound. a >= 0, a <= b.
Expr magnitude_digits(int64_t a, std::optional<int64_t> b) {
  std::string sa = std::to_string(a);
  std::vector<Expr> options;
  size_t max_len = b ? std::to_string(*b).size() : sa.size();
  for (size_t len = sa.size(); len <= max_len; ++len) {
    std::string lo = sa;
    if (len != sa.size()) {
      lo.assign(len, '0');
      lo[0] = '1';
    }
    std::string hi = b && len == max_len ? std::to_string(*b) : std::string(len, '9');
    options.push_back(same_length(lo, hi));
  }
  if (!b) {
    options.push_back(Expr::seq(
        {digit_in('1', '9'), Expr::repeat(digit(), static_cast<int32_t>(sa.size()), kUnbounded)}));
  }
  return Expr::alt(std::move(options));
}

struct Magnitude {
  int64_t lo = 0;
  bool lo_exclusive = false;
  std::optional<int64_t> hi;
  bool hi_exclusive = false;
};

// Integer magnitudes (>= 0) within m's bounds, or nullopt when none.
std::optional<Expr> integer_magnitude(const Magnitude& m) {
  int64_t lo = m.lo + (m.lo_exclusive ? 1 : 0);
  std::optional<int64_t> hi = m.hi;
  if (hi && m.hi_exclusive) *hi -= 1;
  if (hi && *hi < lo) return std::nullopt;
  return magnitude_digits(lo, hi);
}

// Magnitudes with an optional fraction: integer part I, fraction f in [0, 1).
std::optional<Expr> fraction_magnitude(const Magnitude& m) {
  Expr any_fraction = Expr::optional(Expr::seq({Expr::literal("."), Expr::plus(digit())}));
  std::vector<Expr> options;
  // I in [lo (+1 when exclusive), hi - 1]: any fraction.
  int64_t first = m.lo + (m.lo_exclusive ? 1 : 0);
  std::optional<int64_t> last = m.hi ? std::optional<int64_t>(*m.hi - 1) : std::nullopt;
  if (!last || *last >= first) {
    options.push_back(Expr::seq({magnitude_digits(first, last), any_fraction}));
  }
  bool room = !m.hi || *m.hi > m.lo;
  if (m.lo_exclusive && room) {  // I == lo with a fraction above zero
    options.push_back(Expr::seq({Expr::literal(std::to_string(m.lo) + "."), Expr::star(digit()),
                                 digit_in('1', '9'), Expr::star(digit())}));
  }
  if (m.hi && !m.hi_exclusive && (room || !m.lo_exclusive)) {  // I == hi, fraction zero
    options.push_back(Expr::seq(
        {Expr::literal(std::to_string(*m.hi)),
         Expr::optional(Expr::seq({Expr::literal("."), Expr::plus(Expr::literal("0"))}))}));
  }
  if (options.empty()) return std::nullopt;
  return Expr::alt(std::move(options));
}

template <typename MagnitudeFn>
Expr signed_range(const NumberBounds& b, MagnitudeFn magnitude) {
  std::vector<Expr> options;
  // v >= 0: magnitude in [max(min, 0), max].
  bool has_positive = !b.max || *b.max > 0 || (*b.max == 0 && !b.max_exclusive);
  if (has_positive) {
    Magnitude m;
    if (b.min && *b.min >= 0) {
      m.lo = *b.min;
      m.lo_exclusive = b.min_exclusive;
    }
    m.hi = b.max;
    m.hi_exclusive = b.max_exclusive;
    if (auto e = magnitude(m)) options.push_back(std::move(*e));
  }
  // v < 0: "-" and a magnitude above zero in [max(-max, 0), -min].
  if (!b.min || *b.min < 0) {
    Magnitude m;
    m.lo = b.max && *b.max < 0 ? -*b.max : 0;
    m.lo_exclusive = b.max && *b.max < 0 ? b.max_exclusive : true;
    if (b.min) m.hi = -*b.min;
    m.hi_exclusive = b.min_exclusive;
    if (auto e = magnitude(m)) options.push_back(Expr::seq({Expr::literal("-"), std::move(*e)}));
  }
  return Expr::alt(std::move(options));
}

}  // namespace

Expr integer_in_range(const NumberBounds& bounds) {
  return signed_range(bounds, integer_magnitude);
}

Expr number_in_range(const NumberBounds& bounds) {
  return signed_range(bounds, fraction_magnitude);
}

bool integer_range_is_empty(const NumberBounds& b) {
  if (!b.min || !b.max) return false;
  return *b.min + (b.min_exclusive ? 1 : 0) > *b.max - (b.max_exclusive ? 1 : 0);
}

bool number_range_is_empty(const NumberBounds& b) {
  if (!b.min || !b.max) return false;
  return *b.min > *b.max || (*b.min == *b.max && (b.min_exclusive || b.max_exclusive));
}

}  // namespace pdserve::structured
