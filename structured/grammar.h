// Grammar: a context-free grammar over bytes, the one representation every
// constraint compiles to (GrammarBuilder makes it). Each rule is a list of
// alternatives; each alternative is a run of elements in one flat array,
// closed by a kEnd element. An element matches one byte from a byte set or
// expands a rule. A position is an index into elements(): the pushdown
// recognizer (stack_set.h) keeps stacks of positions.
//
// Guarantees of a built Grammar: every referenced rule has a body, no rule is
// left-recursive, every rule can derive a finite string. Immutable, so safe
// to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pdserve::structured {

class ByteSet {
 public:
  bool test(uint8_t b) const { return (bits_[b >> 6] >> (b & 63)) & 1; }
  void set(uint8_t b) { bits_[b >> 6] |= uint64_t{1} << (b & 63); }
  void set_range(uint8_t lo, uint8_t hi) {
    for (int b = lo; b <= hi; ++b) set(static_cast<uint8_t>(b));
  }
  friend bool operator==(const ByteSet&, const ByteSet&) = default;
  friend auto operator<=>(const ByteSet&, const ByteSet&) = default;

 private:
  std::array<uint64_t, 4> bits_{};
};

struct Element {
  enum class Kind : uint8_t { kEnd, kBytes, kRule };
  Kind kind = Kind::kEnd;
  int32_t index = -1;  // kBytes: byte set id; kRule: rule id
};

class Grammar {
 public:
  const std::vector<Element>& elements() const { return elements_; }
  const Element& at(int32_t pos) const { return elements_[static_cast<size_t>(pos)]; }
  // Start positions of the alternatives of `rule`.
  const std::vector<int32_t>& alternatives(int32_t rule) const {
    return rule_alts_[static_cast<size_t>(rule)];
  }
  const ByteSet& byte_set(int32_t id) const { return byte_sets_[static_cast<size_t>(id)]; }
  int32_t num_rules() const { return static_cast<int32_t>(rule_alts_.size()); }
  const std::string& rule_name(int32_t rule) const { return names_[static_cast<size_t>(rule)]; }
  int32_t root_rule() const { return root_; }
  // The grammar in GBNF-like text, for error messages and tests.
  std::string to_string() const;

 private:
  friend class GrammarBuilder;
  std::vector<Element> elements_;
  std::vector<std::vector<int32_t>> rule_alts_;
  std::vector<ByteSet> byte_sets_;
  std::vector<std::string> names_;
  int32_t root_ = 0;
};

}  // namespace pdserve::structured
