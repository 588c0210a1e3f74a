#include "decode_worker/prefill_decision.h"

namespace pdserve::decode {

PrefillPlace decide_prefill(const PrefillPolicy& policy, const PrefillInputs& in) {
  if (!in.has_prefill_worker || in.mode == "local") return PrefillPlace::kLocal;
  if (in.mode == "remote") return PrefillPlace::kRemote;
  if (in.prompt_len - in.num_cached_tokens < policy.min_remote_tokens) return PrefillPlace::kLocal;
  return PrefillPlace::kRemote;
}

}  // namespace pdserve::decode
