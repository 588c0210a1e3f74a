// Scheduler::update(): a completed step's tokens become outputs; stop
// checks; finishing and retiring requests.
#include <algorithm>
#include <span>
#include <string>

#include "common/base/logging.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/stop_checker.h"

namespace pdserve::scheduler {

Status Scheduler::update(const ScheduledStep& step, const runner::StepOutput& output) {
  PD_CHECK(step.step_id > last_updated_step_id_)
      << "step " << step.step_id << " updated after step " << last_updated_step_id_;
  last_updated_step_id_ = step.step_id;
  const std::string where = "step " + std::to_string(step.step_id) + ": ";
  size_t k = 0;
  size_t next_draft = 0;
  for (const ScheduledSeq& s : step.seqs) {
    std::span<const runner::SampledToken> tokens;
    if (s.sample) {
      size_t end = k;
      while (end < output.sampled.size() && output.sampled[end].seq_id == s.request_id &&
             end - k <= static_cast<size_t>(s.num_draft_tokens)) {
        ++end;
      }
      if (end == k) {
        return internal_error(where + "no sampled token for seq " + std::to_string(s.request_id));
      }
      tokens = std::span(output.sampled).subspan(k, end - k);
      k = end;
    }
    const runner::DraftTokens* drafts = nullptr;
    if (next_draft < output.drafts.size() && output.drafts[next_draft].seq_id == s.request_id) {
      drafts = &output.drafts[next_draft++];
    }
    Request* r = find(s.request_id);
    if (!r || r->state == RequestState::kPinned) continue;  // finished: tokens discarded
    const int num_rejected =
        s.sample ? s.num_draft_tokens + 1 - static_cast<int>(tokens.size()) : 0;
    if (s.epoch == r->epoch && r->state == RequestState::kRunning) {
      r->num_computed -= num_rejected;  // their KV slots are written again later
      r->num_computed_done += s.num_tokens - num_rejected;
      cache_computed_blocks(r);  // before a finish frees the blocks
    }
    if (s.num_draft_tokens > 0)
      count_speculation(s.num_draft_tokens, static_cast<int>(tokens.size()));
    if (tokens.empty()) continue;
    --r->num_placeholders;
    if (!append_tokens(r, tokens)) continue;
    if (r->state != RequestState::kRunning || r->epoch != s.epoch) continue;  // preempted since
    // The new tokens may complete a block computed earlier (async).
    cache_computed_blocks(r);
    if (drafts && r->num_placeholders == 0) r->draft_ids = drafts->token_ids;
  }
  if (k != output.sampled.size() || next_draft != output.drafts.size()) {
    return internal_error(where + "runner returned " + std::to_string(output.sampled.size()) +
                          " tokens and " + std::to_string(output.drafts.size()) +
                          " drafts, the batch takes " + std::to_string(k) + " and " +
                          std::to_string(next_draft));
  }
  release_retired();
  return ok_status();
}

void Scheduler::fail_step(const ScheduledStep& step, const Status& why) {
  PD_CHECK(step.step_id > last_updated_step_id_)
      << "step " << step.step_id << " failed after step " << last_updated_step_id_;
  last_updated_step_id_ = step.step_id;
  std::vector<uint64_t> ids = step.swapped_ids;
  for (const ScheduledSeq& s : step.seqs) ids.push_back(s.request_id);
  for (uint64_t id : ids) {
    Request* r = find(id);
    if (!r || r->state == RequestState::kPinned) continue;  // gone, or done before this step
    RequestOutput out;
    out.request_id = id;
    out.num_cached_tokens = r->num_cached_tokens;
    out.error = why.to_string();
    finish(r, FinishReason::kError, &out);
    outputs_.push_back(std::move(out));
  }
  release_retired();
}

void Scheduler::count_speculation(int num_draft_tokens, int num_emitted) {
  SpecDecodeStats& st = spec_stats_;
  ++st.num_drafts;
  st.num_draft_tokens += num_draft_tokens;
  st.num_accepted_tokens += num_emitted - 1;
  if (st.num_accepted_tokens_per_pos.size() < static_cast<size_t>(num_draft_tokens)) {
    st.num_accepted_tokens_per_pos.resize(static_cast<size_t>(num_draft_tokens), 0);
  }
  for (int i = 0; i + 1 < num_emitted; ++i)
    ++st.num_accepted_tokens_per_pos[static_cast<size_t>(i)];
}

void Scheduler::cache_computed_blocks(Request* r) {
  const int num_known = std::min(r->num_computed_done, r->num_tokens());
  kv_.cache_blocks(r->id, r->block_hashes, num_known / kv_.block_size());
}

bool Scheduler::append_tokens(Request* r, std::span<const runner::SampledToken> tokens) {
  RequestOutput out;
  out.request_id = r->id;
  out.num_cached_tokens = r->num_cached_tokens;
  out.num_prompt_tokens = r->prompt_len();
  out.times = r->times;
  bool running = true;
  for (const runner::SampledToken& token : tokens) {
    r->output_ids.push_back(token.token_id);
    r->extend_block_hashes(kv_.block_size());
    out.new_tokens.push_back(token);
    StopDecision stop = check_stop(*r, eos_token_ids_, max_model_len_);
    if (stop.reason != FinishReason::kNone) {
      r->stop_token_id = stop.stop_token_id;
      finish(r, stop.reason, &out);  // may free r
      running = false;
      break;
    }
  }
  outputs_.push_back(std::move(out));
  return running;
}

void Scheduler::finish(Request* r, FinishReason reason, RequestOutput* out) {
  const RequestState was = r->state;
  switch (was) {
    case RequestState::kWaiting:
    case RequestState::kSwapped: waiting_.erase(r); break;
    case RequestState::kRunning:
      running_.erase(std::find(running_.begin(), running_.end(), r));
      break;
    case RequestState::kRemoteKv: --num_remote_kv_; break;
    case RequestState::kPinned: --num_pinned_; break;
    case RequestState::kFinished: PD_CHECK(false) << "request " << r->id << " finished twice";
  }
  r->finish_reason = reason;
  out->finished = true;
  out->finish_reason = reason;
  out->stop_token_id = r->stop_token_id;
  if (r->spec.keep_blocks && (reason == FinishReason::kStop || reason == FinishReason::kLength)) {
    // pick_victim never preempts it once its token is being sampled, and
    // max_tokens 1 keeps it out of later steps: its blocks are all here.
    PD_CHECK(was == RequestState::kRunning && !kv_.is_swapped(r->id) &&
             r->last_step_id <= last_updated_step_id_)
        << "prefill-only request " << r->id << " finished while " << request_state_name(was);
    r->state = RequestState::kPinned;
    ++num_pinned_;
    out->block_ids = kv_.block_table(r->id);
    if (r->in_runner) pending_removes_.push_back(r->id);
    r->in_runner = false;
    return;
  }
  r->state = RequestState::kFinished;
  auto it = requests_.find(r->id);
  std::unique_ptr<Request> owned = std::move(it->second);
  requests_.erase(it);
  retire(std::move(owned));
}

void Scheduler::retire(std::unique_ptr<Request> r) {
  if (r->last_step_id > last_updated_step_id_) {
    retired_.push_back(std::move(r));  // a step in flight still uses its blocks
    return;
  }
  kv_.free(r->id);
  if (r->in_runner) pending_removes_.push_back(r->id);
}

void Scheduler::release_retired() {
  std::vector<std::unique_ptr<Request>> still;
  for (auto& r : retired_) {
    if (r->last_step_id > last_updated_step_id_) {
      still.push_back(std::move(r));
    } else {
      retire(std::move(r));
    }
  }
  retired_.swap(still);
}

}  // namespace pdserve::scheduler
