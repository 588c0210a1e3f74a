// Conditional disaggregation: whether the decode worker asks the prefill
// worker for a request's KV or computes it itself. Remote prefill pays a
// network round trip and a KV transfer to keep long prompts off the decode
// batch; a short uncached part is cheaper to prefill locally.
// Pure function, thread-safe.
#pragma once

#include <string_view>

namespace pdserve::decode {

struct PrefillPolicy {
  // Remote only when at least this many prompt tokens are not in the decode
  // worker's prefix cache.
  int min_remote_tokens = 64;
  // What to do when the remote prefill or the KV transfer fails.
  bool fallback_to_local = true;
};

enum class PrefillPlace { kLocal, kRemote };

struct PrefillInputs {
  std::string_view mode = "auto";  // "auto", "remote" (always, when a worker is given), "local"
  bool has_prefill_worker = false;
  int prompt_len = 0;
  int num_cached_tokens = 0;  // in the decode worker's prefix cache
};

PrefillPlace decide_prefill(const PrefillPolicy& policy, const PrefillInputs& in);

}  // namespace pdserve::decode
