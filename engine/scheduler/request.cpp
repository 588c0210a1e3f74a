#include "engine/scheduler/request.h"

#include "common/base/logging.h"

namespace pdserve::scheduler {

std::string_view request_state_name(RequestState state) {
  switch (state) {
    case RequestState::kWaiting: return "waiting";
    case RequestState::kRunning: return "running";
    case RequestState::kSwapped: return "swapped";
    case RequestState::kRemoteKv: return "remote_kv";
    case RequestState::kPinned: return "pinned";
    case RequestState::kFinished: return "finished";
  }
  return "?";
}

std::string_view finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kAbort: return "abort";
    case FinishReason::kError: return "error";
  }
  return "?";
}

Request::Request(RequestSpec s, uint64_t arrival_idx)
    : spec(std::move(s)),
      id(spec.request_id),
      arrival(arrival_idx),
      max_tokens(spec.prefill_only ? 1 : spec.sampling.max_tokens) {}

int32_t Request::token_at(int pos) const {
  PD_DCHECK(pos >= 0 && pos < num_tokens());
  return pos < prompt_len() ? spec.prompt_ids[pos] : output_ids[pos - prompt_len()];
}

void Request::extend_block_hashes(int block_size) {
  std::vector<int32_t> block(block_size);
  while (static_cast<int>(block_hashes.size() + 1) * block_size <= num_tokens()) {
    const int start = static_cast<int>(block_hashes.size()) * block_size;
    for (int i = 0; i < block_size; ++i) block[i] = token_at(start + i);
    const protocol::BlockHash parent =
        block_hashes.empty() ? protocol::kRootBlockHash : block_hashes.back();
    block_hashes.push_back(protocol::hash_block_tokens(parent, block, spec.cache_salt));
  }
}

runner::SequenceInfo Request::sequence_info() const {
  runner::SequenceInfo info;
  info.seq_id = id;
  info.prompt_ids = spec.prompt_ids;
  info.output_ids = output_ids;
  info.sampling = spec.sampling;
  return info;
}

}  // namespace pdserve::scheduler
