// For one grammar position (a byte element), which tokens of the vocabulary
// are accepted whatever the rule's callers are, and which need the full
// parse stack to decide. A token is
//   accepted   when its bytes can be matched starting at the position inside
//              the position's own rule (the rule may even end at its last byte);
//   uncertain  when every such match leaves the rule before the token ends,
//              into a byte in `follow` (the rule's FOLLOW set), so what
//              follows depends on the callers;
//   rejected   otherwise (the rest).
// The walk visits the vocabulary in sorted order and shares the work of common
// prefixes; a dead prefix skips every token under it.
#pragma once

#include <cstdint>
#include <vector>

#include "structured/grammar.h"
#include "structured/token_bitmask.h"
#include "structured/vocabulary.h"

namespace pdserve::structured {

struct PositionMask {
  TokenBitmask accepted;
  std::vector<int32_t> uncertain;
};

PositionMask classify_tokens(const Grammar& grammar, const Vocabulary& vocab, int32_t position,
                             const ByteSet& follow);

}  // namespace pdserve::structured
