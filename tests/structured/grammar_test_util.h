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

#include <memory>
#include <vector>

#include "structured/vocabulary.h"

namespace pdserve::structured {

// Every single byte (so any grammar can always go on), some multi-byte
// tokens that cross JSON token boundaries, a special token with no bytes
// (id 0) and a stop token (the last id).
inline std::shared_ptr<const Vocabulary> test_vocabulary() {
  std::vector<std::string> tokens{""};
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  for (const char* t :
       {"{\"",      "\":",      "\",",   "\"}",   "\": \"", ", \"", "name",   "age",
        " \"",      "true",     "false", "null",  "12",     "345",  "-1",     "0.",
        ".5",       "e+",       "]}",    "}]",    "[{",     "[]",   "{}",     "\"\"",
        "abc",      " the",     "\\n",   "\\u00", "\\\"",   "ing",  "\n  ",   "  ",
        "\xC3\xA9", "\xE2\x82", "\xAC",  "2024-", "01-",    "T12:", "00:00Z", "@",
        ".com",     "aa",       "aaa",   "ab",    "ba",     "\"]"}) {
    tokens.emplace_back(t);
  }
  tokens.emplace_back("</s>");
  auto stop = static_cast<int32_t>(tokens.size() - 1);
  tokens.back().clear();
  Result<std::shared_ptr<const Vocabulary>> v = Vocabulary::create(std::move(tokens), {stop});
  return *v;
}

// The mask computed the slow way: a token is allowed when its bytes advance
// some stack of `stacks` (a stop token: when some stack is complete).
inline std::vector<bool> brute_force_mask(const Grammar& g, const Vocabulary& vocab,
                                          const StackSet& stacks) {
  std::vector<bool> allowed(static_cast<size_t>(vocab.size()), false);
  for (int32_t id = 0; id < vocab.size(); ++id) {
    StackSet out;
    if (vocab.is_stop(id)) {
      allowed[static_cast<size_t>(id)] = has_empty_stack(stacks);
    } else if (!vocab.bytes(id).empty()) {
      allowed[static_cast<size_t>(id)] = advance_bytes(g, stacks, vocab.bytes(id), &out);
    }
  }
  return allowed;
}

}  // namespace pdserve::structured
