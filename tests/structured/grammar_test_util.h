// Helpers for the structured/ tests: does a grammar accept a whole string, or
// is a string a viable prefix of something it accepts.
#pragma once

#include <string>

#include "structured/grammar.h"
#include "structured/stack_set.h"

namespace pdserve::structured {

inline bool is_viable_prefix(const Grammar& g, const std::string& text) {
  StackSet out;
  return advance_bytes(g, initial_stacks(g), text, &out);
}

inline bool accepts(const Grammar& g, const std::string& text) {
  StackSet out;
  return advance_bytes(g, initial_stacks(g), text, &out) && has_empty_stack(out);
}

}  // namespace pdserve::structured
