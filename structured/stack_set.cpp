#include "structured/stack_set.h"

#include <algorithm>
#include <utility>

namespace pdserve::structured {

void expand_stack(const Grammar& g, Stack stack, StackSet* out) {
  while (true) {
    if (stack.empty()) {
      out->push_back(std::move(stack));
      return;
    }
    int32_t pos = stack.back();
    const Element& e = g.at(pos);
    if (e.kind == Element::Kind::kBytes) {
      out->push_back(std::move(stack));
      return;
    }
    stack.pop_back();
    if (e.kind == Element::Kind::kEnd) continue;
    // A call: resume at pos + 1 afterwards, unless that just ends this
    // alternative too (a tail call keeps the stack flat for `x*` loops).
    if (g.at(pos + 1).kind != Element::Kind::kEnd) stack.push_back(pos + 1);
    const std::vector<int32_t>& alts = g.alternatives(e.index);
    for (size_t i = 1; i < alts.size(); ++i) {
      Stack branch = stack;
      branch.push_back(alts[i]);
      expand_stack(g, std::move(branch), out);
    }
    stack.push_back(alts[0]);
  }
}

namespace {

void sort_unique(StackSet* set) {
  std::sort(set->begin(), set->end());
  set->erase(std::unique(set->begin(), set->end()), set->end());
}

}  // namespace

StackSet initial_stacks(const Grammar& g) {
  StackSet out;
  for (int32_t start : g.alternatives(g.root_rule())) expand_stack(g, Stack{start}, &out);
  sort_unique(&out);
  return out;
}

void advance_stacks(const Grammar& g, const StackSet& in, uint8_t byte, StackSet* out) {
  out->clear();
  for (const Stack& s : in) {
    if (s.empty()) continue;
    int32_t pos = s.back();
    if (!g.byte_set(g.at(pos).index).test(byte)) continue;
    Stack next = s;
    next.back() = pos + 1;
    expand_stack(g, std::move(next), out);
  }
  if (out->size() > 1) sort_unique(out);
}

bool advance_bytes(const Grammar& g, const StackSet& in, std::string_view bytes, StackSet* out,
                   size_t max_stacks) {
  StackSet cur = in;
  for (char c : bytes) {
    advance_stacks(g, cur, static_cast<uint8_t>(c), out);
    if (out->empty() || out->size() > max_stacks) return false;
    std::swap(cur, *out);
  }
  *out = std::move(cur);
  return true;
}

bool has_empty_stack(const StackSet& set) {
  return std::any_of(set.begin(), set.end(), [](const Stack& s) { return s.empty(); });
}

}  // namespace pdserve::structured
