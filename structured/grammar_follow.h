// FOLLOW sets of a Grammar's rules: the bytes that can come right after a
// complete match of a rule somewhere in a derivation from the root (nothing
// for the root itself: after it only a stop token). The token classifier
// uses them to reject tokens that leave a rule into a byte no caller can take.
#pragma once

#include <cstdint>
#include <vector>

#include "structured/grammar.h"

namespace pdserve::structured {

struct GrammarFollow {
  std::vector<ByteSet> follow;            // by rule id
  std::vector<int32_t> rule_of_position;  // by element index: the rule it belongs to
};

GrammarFollow compute_follow(const Grammar& grammar);

}  // namespace pdserve::structured
