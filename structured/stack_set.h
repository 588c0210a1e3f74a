// The byte-level pushdown recognizer over a Grammar. A Stack holds positions
// (Grammar::elements() indices): the top is the next byte element to match,
// the ones below are where to resume in the calling rules. A StackSet holds
// every live parse, sorted and without duplicates; it is empty when the
// input can no longer be completed. An empty Stack inside a set means the
// whole input derived from the bottom frame is complete: for a matcher's
// stacks that is "the root rule matched, a stop token may follow"; for the
// mask cache's one-frame stacks it is "the rule ended, what follows depends
// on the caller".
//
// Pure functions over immutable data: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "structured/grammar.h"

namespace pdserve::structured {

using Stack = std::vector<int32_t>;
using StackSet = std::vector<Stack>;

// Stacks reached from `stack` (its top any element) without consuming a byte:
// rules expanded, finished alternatives popped. Appends to *out, unsorted.
void expand_stack(const Grammar& grammar, Stack stack, StackSet* out);

// The stacks of the root rule before any byte.
StackSet initial_stacks(const Grammar& grammar);

// Every stack of `in` that matches `byte`, advanced past it; *out is replaced
// (sorted, unique).
void advance_stacks(const Grammar& grammar, const StackSet& in, uint8_t byte, StackSet* out);

// Most live parses a matcher or the token classifier follows: an ambiguous
// grammar (say r ::= "(" r ")" | "(" r "]" | "x") can double them with
// every byte.
inline constexpr size_t kMaxLiveStacks = 4096;

// Advances `in` by every byte of `bytes`; false when some byte has no live
// parse (*out empty) or leaves more than `max_stacks` (*out holds those).
bool advance_bytes(const Grammar& grammar, const StackSet& in, std::string_view bytes,
                   StackSet* out, size_t max_stacks = SIZE_MAX);

bool has_empty_stack(const StackSet& set);

}  // namespace pdserve::structured
