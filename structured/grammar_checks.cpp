#include "structured/grammar_checks.h"

#include <vector>

namespace pdserve::structured {
namespace {

// rule -> can derive a string, when every element of some alternative can.
// `nullable` mode: only the empty string counts (byte elements never do).
std::vector<bool> fixpoint(const Grammar& g, bool nullable) {
  std::vector<bool> yes(static_cast<size_t>(g.num_rules()), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (int32_t r = 0; r < g.num_rules(); ++r) {
      if (yes[static_cast<size_t>(r)]) continue;
      for (int32_t pos : g.alternatives(r)) {
        bool all = true;
        for (; g.at(pos).kind != Element::Kind::kEnd; ++pos) {
          const Element& e = g.at(pos);
          if (e.kind == Element::Kind::kBytes ? nullable : !yes[static_cast<size_t>(e.index)]) {
            all = false;
            break;
          }
        }
        if (all) {
          yes[static_cast<size_t>(r)] = true;
          changed = true;
          break;
        }
      }
    }
  }
  return yes;
}

// Rules that rule r can start with (through a prefix of nullable rules).
std::vector<std::vector<int32_t>> left_edges(const Grammar& g, const std::vector<bool>& nullable) {
  std::vector<std::vector<int32_t>> edges(static_cast<size_t>(g.num_rules()));
  for (int32_t r = 0; r < g.num_rules(); ++r) {
    for (int32_t pos : g.alternatives(r)) {
      for (; g.at(pos).kind == Element::Kind::kRule; ++pos) {
        int32_t callee = g.at(pos).index;
        edges[static_cast<size_t>(r)].push_back(callee);
        if (!nullable[static_cast<size_t>(callee)]) break;
      }
    }
  }
  return edges;
}

// Iterative DFS; returns a rule on a cycle, or -1.
int32_t find_cycle(const std::vector<std::vector<int32_t>>& edges) {
  enum : uint8_t { kNew, kOpen, kDone };
  std::vector<uint8_t> mark(edges.size(), kNew);
  for (size_t start = 0; start < edges.size(); ++start) {
    if (mark[start] != kNew) continue;
    std::vector<std::pair<int32_t, size_t>> stack{{static_cast<int32_t>(start), 0}};
    mark[start] = kOpen;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const auto& out = edges[static_cast<size_t>(node)];
      if (next == out.size()) {
        mark[static_cast<size_t>(node)] = kDone;
        stack.pop_back();
        continue;
      }
      int32_t callee = out[next++];
      if (mark[static_cast<size_t>(callee)] == kOpen) return callee;
      if (mark[static_cast<size_t>(callee)] == kNew) {
        mark[static_cast<size_t>(callee)] = kOpen;
        stack.emplace_back(callee, 0);
      }
    }
  }
  return -1;
}

}  // namespace

Status check_grammar(const Grammar& g) {
  std::vector<bool> productive = fixpoint(g, false);
  for (int32_t r = 0; r < g.num_rules(); ++r) {
    if (!productive[static_cast<size_t>(r)]) {
      return invalid_argument("grammar: rule '" + g.rule_name(r) +
                              "' never ends (it derives no finite string)");
    }
  }
  int32_t cyclic = find_cycle(left_edges(g, fixpoint(g, true)));
  if (cyclic >= 0) {
    return invalid_argument("grammar: rule '" + g.rule_name(cyclic) +
                            "' is left-recursive (not supported; rewrite it with repetition)");
  }
  return ok_status();
}

}  // namespace pdserve::structured
