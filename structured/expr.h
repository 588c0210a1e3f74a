// Expr: the grammar expression every front end (EBNF, regex, JSON Schema,
// choice lists) builds before GrammarBuilder lowers it to the flat byte-level
// Grammar. Characters are Unicode code points; the builder encodes them as
// UTF-8 byte sequences, so a constraint never admits invalid UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pdserve::structured {

// Inclusive code point range. Surrogates (U+D800..U+DFFF) are never matched.
struct CodepointRange {
  uint32_t lo = 0;
  uint32_t hi = 0;
};

inline constexpr uint32_t kMaxCodepoint = 0x10FFFF;
inline constexpr int32_t kUnbounded = -1;

struct Expr {
  enum class Kind {
    kEmpty,    // matches the empty string
    kLiteral,  // `text`, byte for byte
    kClass,    // one code point from `ranges`
    kRule,     // a reference to rule `rule` of the builder
    kSeq,      // children one after another
    kAlt,      // one of children
    kRepeat,   // children[0] from `min` to `max` times (max kUnbounded: no limit)
  };

  Kind kind = Kind::kEmpty;
  std::string text;
  std::vector<CodepointRange> ranges;
  int32_t rule = -1;
  std::vector<Expr> children;
  int32_t min = 0;
  int32_t max = 0;

  static Expr empty() { return Expr{}; }
  static Expr literal(std::string bytes);
  static Expr char_class(std::vector<CodepointRange> ranges);
  static Expr ref(int32_t rule_id);
  static Expr seq(std::vector<Expr> items);
  static Expr alt(std::vector<Expr> options);
  static Expr repeat(Expr item, int32_t min, int32_t max);
  static Expr star(Expr item) { return repeat(std::move(item), 0, kUnbounded); }
  static Expr plus(Expr item) { return repeat(std::move(item), 1, kUnbounded); }
  static Expr optional(Expr item) { return repeat(std::move(item), 0, 1); }
};

// Sorted, merged ranges with surrogates removed; the complement of a class
// within U+0000..U+10FFFF.
std::vector<CodepointRange> normalize_ranges(std::vector<CodepointRange> ranges);
std::vector<CodepointRange> complement_ranges(const std::vector<CodepointRange>& ranges);
// The ranges of `a` that are not in `b`.
std::vector<CodepointRange> subtract_ranges(const std::vector<CodepointRange>& a,
                                            const std::vector<CodepointRange>& b);

}  // namespace pdserve::structured
