#include "structured/token_classifier.h"

#include "structured/stack_set.h"

namespace pdserve::structured {

PositionMask classify_tokens(const Grammar& g, const Vocabulary& vocab, const Stack& frames,
                             const ByteSet& follow) {
  PositionMask out{TokenBitmask(vocab.size()), {}};
  const std::vector<int32_t>& ids = vocab.sorted_ids();
  const std::vector<int32_t>& shared = vocab.shared_prefix_len();
  // sets[d]: the stacks from `frames` after d bytes of the current token;
  // exits[d]: the frames could end within those d bytes and be followed by
  // the next byte of the token.
  std::vector<StackSet> sets(1);
  expand_stack(g, frames, &sets[0]);
  std::vector<bool> exits{false};
  auto exits_before = [&](size_t depth, uint8_t next) {
    return exits[depth] || (has_empty_stack(sets[depth]) && follow.test(next));
  };
  size_t i = 0;
  while (i < ids.size()) {
    std::string_view bytes = vocab.bytes(ids[i]);
    size_t depth = static_cast<size_t>(shared[i]);
    // sets[0..depth] are valid for this token: it shares those bytes.
    bool dead = false;
    while (depth < bytes.size()) {
      if (sets.size() <= depth + 1) {
        sets.resize(depth + 2);
        exits.resize(depth + 2);
      }
      advance_stacks(g, sets[depth], static_cast<uint8_t>(bytes[depth]), &sets[depth + 1]);
      if (sets[depth + 1].empty()) {
        dead = true;
        break;
      }
      exits[depth + 1] = exits_before(depth, static_cast<uint8_t>(bytes[depth]));
      ++depth;
    }
    if (!dead) {
      out.accepted.set(ids[i]);
      ++i;
      continue;
    }
    // Every token sharing the first depth + 1 bytes dies the same way.
    bool uncertain = exits_before(depth, static_cast<uint8_t>(bytes[depth]));
    do {
      if (uncertain) out.uncertain.push_back(ids[i]);
      ++i;
    } while (i < ids.size() && static_cast<size_t>(shared[i]) > depth);
  }
  return out;
}

}  // namespace pdserve::structured
