#include "structured/grammar_follow.h"

namespace pdserve::structured {
namespace {

void merge(ByteSet* into, const ByteSet& from, bool* changed) {
  for (int b = 0; b < 256; ++b) {
    auto byte = static_cast<uint8_t>(b);
    if (from.test(byte) && !into->test(byte)) {
      into->set(byte);
      *changed = true;
    }
  }
}

}  // namespace

GrammarFollow compute_follow(const Grammar& g) {
  auto n = static_cast<size_t>(g.num_rules());
  std::vector<bool> nullable(n, false);
  std::vector<ByteSet> first(n);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < g.num_rules(); ++r) {
      for (int32_t pos : g.alternatives(r)) {
        bool all_nullable = true;
        for (; g.at(pos).kind != Element::Kind::kEnd; ++pos) {
          const Element& e = g.at(pos);
          if (e.kind == Element::Kind::kBytes) {
            merge(&first[static_cast<size_t>(r)], g.byte_set(e.index), &changed);
            all_nullable = false;
            break;
          }
          merge(&first[static_cast<size_t>(r)], first[static_cast<size_t>(e.index)], &changed);
          if (!nullable[static_cast<size_t>(e.index)]) {
            all_nullable = false;
            break;
          }
        }
        if (all_nullable && !nullable[static_cast<size_t>(r)]) {
          nullable[static_cast<size_t>(r)] = true;
          changed = true;
        }
      }
    }
  }
  GrammarFollow out;
  out.follow.resize(n);
  out.rule_of_position.assign(g.elements().size(), -1);
  for (int32_t r = 0; r < g.num_rules(); ++r) {
    for (int32_t pos : g.alternatives(r)) {
      for (; g.at(pos).kind != Element::Kind::kEnd; ++pos) {
        out.rule_of_position[static_cast<size_t>(pos)] = r;
      }
      out.rule_of_position[static_cast<size_t>(pos)] = r;
    }
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < g.num_rules(); ++r) {
      for (int32_t start : g.alternatives(r)) {
        // Walk the alternative backwards, carrying FIRST of what follows.
        int32_t end = start;
        while (g.at(end).kind != Element::Kind::kEnd) ++end;
        ByteSet after = out.follow[static_cast<size_t>(r)];
        for (int32_t pos = end - 1; pos >= start; --pos) {
          const Element& e = g.at(pos);
          if (e.kind == Element::Kind::kBytes) {
            after = g.byte_set(e.index);
            continue;
          }
          auto callee = static_cast<size_t>(e.index);
          merge(&out.follow[callee], after, &changed);
          if (nullable[callee]) {
            bool ignored = false;
            merge(&after, first[callee], &ignored);
          } else {
            after = first[callee];
          }
        }
      }
    }
  }
  return out;
}

}  // namespace pdserve::structured
