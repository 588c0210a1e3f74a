// For the top frames of a parse stack (a suffix whose top is a byte
// element), which tokens of the vocabulary are accepted whatever the frames
// below are, and which need the full stack to decide. A token is
//   accepted   when its bytes can be matched within those frames (they may
//              even all end at its last byte);
//   uncertain  when every such match leaves the frames before the token ends,
//              into a byte in `follow` (the FOLLOW set of the bottom frame's
//              rule), so what follows depends on the frames below;
//   rejected   otherwise (the rest).
// The walk visits the vocabulary in sorted order and shares the work of common
// prefixes; a dead prefix skips every token under it.
#pragma once

#include <cstdint>
#include <vector>

#include "structured/grammar.h"
#include "structured/stack_set.h"
#include "structured/token_bitmask.h"
#include "structured/vocabulary.h"

namespace pdserve::structured {

struct PositionMask {
  TokenBitmask accepted;
  std::vector<int32_t> uncertain;
};

PositionMask classify_tokens(const Grammar& grammar, const Vocabulary& vocab, const Stack& frames,
                             const ByteSet& follow);

}  // namespace pdserve::structured
