// --speculative-config, as vLLM spells it (a JSON object):
//   {"method": "ngram", "num_speculative_tokens": 4,
//    "prompt_lookup_max": 4, "prompt_lookup_min": 2}
//   {"method": "draft_model", "model": "DIR", "num_speculative_tokens": 4}
// plus "disable_by_batch_size" (vLLM's name): no speculation in a step while
// that many requests or more are enqueued (running, waiting; default 32).
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace pdserve::spec {

enum class SpecMethod { kNgram, kDraftModel };

struct SpeculativeConfig {
  SpecMethod method = SpecMethod::kNgram;
  int num_speculative_tokens = 4;  // 1 to scheduler::kMaxSpeculativeTokens
  int prompt_lookup_min = 2;       // ngram
  int prompt_lookup_max = 4;       // ngram, >= prompt_lookup_min
  std::string model;               // draft_model: the checkpoint folder
  int disable_by_batch_size = 32;
};

// kInvalidArgument with a one-line message naming the bad field (unknown
// keys, wrong types, values out of range, a missing or unreadable folder).
Result<SpeculativeConfig> parse_speculative_config(std::string_view json);

}  // namespace pdserve::spec
