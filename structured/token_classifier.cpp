#include "structured/token_classifier.h"

#include <array>
#include <map>

#include "structured/stack_set.h"

namespace pdserve::structured {
namespace {

// The stack sets met while walking the trie, interned, with their byte
// transitions memoized: inside a string almost every byte leads back to
// the same few sets, so most trie nodes cost one table lookup.
class StateTable {
 public:
  static constexpr int32_t kDead = -1;
  static constexpr int32_t kTooMany = -3;  // past kMaxLiveStacks: leave it to the full check

  explicit StateTable(const Grammar& g) : g_(g) {}

  int32_t intern(StackSet set) {
    auto [it, inserted] = ids_.emplace(std::move(set), static_cast<int32_t>(sets_.size()));
    if (inserted) {
      sets_.push_back(&it->first);
      has_empty_.push_back(has_empty_stack(it->first));
      next_.emplace_back();
      next_.back().fill(kUnknown);
    }
    return it->second;
  }

  int32_t step(int32_t state, uint8_t byte) {
    int32_t& next = next_[static_cast<size_t>(state)][byte];
    if (next != kUnknown) return next;
    StackSet out;
    advance_stacks(g_, *sets_[static_cast<size_t>(state)], byte, &out);
    int32_t result = out.empty()                   ? kDead
                     : out.size() > kMaxLiveStacks ? kTooMany
                                                   : intern(std::move(out));
    next_[static_cast<size_t>(state)][byte] = result;  // `next` may have moved
    return result;
  }

  bool has_empty(int32_t state) const { return has_empty_[static_cast<size_t>(state)]; }

 private:
  static constexpr int32_t kUnknown = -2;

  const Grammar& g_;
  std::map<StackSet, int32_t> ids_;
  std::vector<const StackSet*> sets_;  // into ids_ (map nodes do not move)
  std::vector<bool> has_empty_;
  std::vector<std::array<int32_t, 256>> next_;
};

}  // namespace

PositionMask classify_tokens(const Grammar& g, const Vocabulary& vocab, const Stack& frames,
                             const ByteSet& follow) {
  PositionMask out{TokenBitmask(vocab.size()), {}};
  const std::vector<int32_t>& ids = vocab.sorted_ids();
  const std::vector<int32_t>& shared = vocab.shared_prefix_len();
  StateTable table(g);
  StackSet start;
  expand_stack(g, frames, &start);
  // states[d]: the stack set (interned) from `frames` after d bytes of the
  // current token; exits[d]: the frames could end within those d bytes and
  // be followed by the next byte of the token.
  std::vector<int32_t> states{table.intern(std::move(start))};
  std::vector<bool> exits{false};
  auto exits_before = [&](size_t depth, uint8_t next) {
    return exits[depth] || (table.has_empty(states[depth]) && follow.test(next));
  };
  size_t i = 0;
  while (i < ids.size()) {
    std::string_view bytes = vocab.bytes(ids[i]);
    size_t depth = static_cast<size_t>(shared[i]);
    // states[0..depth] are valid for this token: it shares those bytes.
    bool dead = false;
    bool too_many = false;
    while (depth < bytes.size()) {
      if (states.size() <= depth + 1) {
        states.resize(depth + 2);
        exits.resize(depth + 2);
      }
      auto byte = static_cast<uint8_t>(bytes[depth]);
      int32_t next = table.step(states[depth], byte);
      if (next < 0) {
        dead = true;
        too_many = next == StateTable::kTooMany;
        break;
      }
      exits[depth + 1] = exits_before(depth, byte);
      states[depth + 1] = next;
      ++depth;
    }
    if (!dead) {
      out.accepted.set(ids[i]);
      ++i;
      continue;
    }
    // Every token sharing the first depth + 1 bytes dies the same way.
    bool uncertain = too_many || exits_before(depth, static_cast<uint8_t>(bytes[depth]));
    do {
      if (uncertain) out.uncertain.push_back(ids[i]);
      ++i;
    } while (i < ids.size() && static_cast<size_t>(shared[i]) > depth);
  }
  return out;
}

}  // namespace pdserve::structured
