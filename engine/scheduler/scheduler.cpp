// Scheduler: admission, the worker roles, abort, stats and invariants.
// schedule() is in schedule.cpp, update() in scheduler_update.cpp.
#include "engine/scheduler/scheduler.h"

#include <algorithm>
#include <sstream>
#include <string>

#include "common/base/logging.h"

namespace pdserve::scheduler {

Status validate(const SchedulerConfig& c) {
  if (c.max_num_seqs < 1) return invalid_argument("max_num_seqs must be >= 1");
  if (c.max_num_batched_tokens < 1) return invalid_argument("max_num_batched_tokens must be >= 1");
  if (c.max_prefill_chunk_tokens < 0) {
    return invalid_argument("max_prefill_chunk_tokens must be >= 0");
  }
  if (c.max_waiting_requests < 0 || c.max_waiting_tokens < 0) {
    return invalid_argument("waiting queue limits must be >= 0");
  }
  if (c.num_speculative_tokens < 0 || c.num_speculative_tokens > kMaxSpeculativeTokens) {
    return invalid_argument("num_speculative_tokens must be in [0, " +
                            std::to_string(kMaxSpeculativeTokens) + "]");
  }
  if (c.speculative_disable_batch_size < 1) {
    return invalid_argument("speculative_disable_batch_size must be >= 1");
  }
  return ok_status();
}

Scheduler::Scheduler(const SchedulerConfig& config, const kv::KvCacheConfig& kv_config,
                     int max_model_len, std::vector<int32_t> eos_token_ids)
    : config_(config),
      kv_([&] {
        kv::KvCacheConfig c = kv_config;
        c.enable_prefix_caching = c.enable_prefix_caching && config.enable_prefix_caching;
        return c;
      }()),
      max_model_len_(max_model_len),
      eos_token_ids_(std::move(eos_token_ids)) {
  PD_CHECK(validate(config).ok()) << validate(config).to_string();
  PD_CHECK(max_model_len > 0) << max_model_len;
}

Request* Scheduler::find(uint64_t request_id) const {
  auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : it->second.get();
}

Status Scheduler::validate_new(const RequestSpec& spec) const {
  const std::string who = "request " + std::to_string(spec.request_id);
  if (requests_.contains(spec.request_id)) return already_exists(who + " is already active");
  for (const auto& r : retired_) {
    if (r->id == spec.request_id) return already_exists(who + " is still being retired");
  }
  if (spec.prompt_ids.empty()) return invalid_argument(who + ": empty prompt");
  const auto& s = spec.sampling;
  if (!spec.prefill_only && s.max_tokens < 1) {
    return invalid_argument(who + ": max_tokens " + std::to_string(s.max_tokens) + " < 1");
  }
  if (s.min_tokens < 0 || (!spec.prefill_only && s.min_tokens > s.max_tokens)) {
    return invalid_argument(who + ": min_tokens " + std::to_string(s.min_tokens) +
                            " not in [0, max_tokens " + std::to_string(s.max_tokens) + "]");
  }
  if (spec.keep_blocks && !spec.prefill_only) {
    return invalid_argument(who + ": keep_blocks needs prefill_only");
  }
  const int prompt_len = static_cast<int>(spec.prompt_ids.size());
  const int max_tokens = spec.prefill_only ? 1 : s.max_tokens;
  const int64_t total = static_cast<int64_t>(prompt_len) + max_tokens;
  if (total > max_model_len_) {
    return invalid_argument(who + ": prompt (" + std::to_string(prompt_len) +
                            " tokens) + max_tokens (" + std::to_string(max_tokens) +
                            ") = " + std::to_string(total) + " exceeds max_model_len " +
                            std::to_string(max_model_len_));
  }
  // The last sampled token's KV is never computed.
  const int num_blocks = kv_.num_blocks_for(static_cast<int>(total) - 1);
  if (num_blocks > kv_.usage().num_blocks) {
    return invalid_argument(who + ": prompt (" + std::to_string(prompt_len) +
                            " tokens) + max_tokens (" + std::to_string(max_tokens) + ") needs " +
                            std::to_string(num_blocks) + " KV blocks, the pool has " +
                            std::to_string(kv_.usage().num_blocks));
  }
  return ok_status();
}

Request* Scheduler::insert(RequestSpec spec) {
  auto r = std::make_unique<Request>(std::move(spec), next_arrival_++);
  r->extend_block_hashes(kv_.block_size());
  Request* raw = r.get();
  requests_.emplace(raw->id, std::move(r));
  return raw;
}

Status Scheduler::add_request(RequestSpec spec) {
  PD_RETURN_IF_ERROR(validate_new(spec));
  if (waiting_.size() >= static_cast<size_t>(config_.max_waiting_requests)) {
    return resource_exhausted("waiting queue full: " + std::to_string(waiting_.size()) +
                              " requests (max_waiting_requests " +
                              std::to_string(config_.max_waiting_requests) + ")");
  }
  const int64_t tokens = waiting_.num_tokens() + static_cast<int64_t>(spec.prompt_ids.size());
  if (tokens > config_.max_waiting_tokens) {
    return resource_exhausted("waiting queue full: " + std::to_string(waiting_.num_tokens()) +
                              " + " + std::to_string(spec.prompt_ids.size()) +
                              " tokens exceeds max_waiting_tokens " +
                              std::to_string(config_.max_waiting_tokens));
  }
  waiting_.push(insert(std::move(spec)));
  return ok_status();
}

int Scheduler::num_cached_prefix_tokens(const RequestSpec& spec) const {
  if (!config_.enable_prefix_caching) return 0;
  std::vector<protocol::BlockHash> hashes;
  protocol::extend_block_hashes(spec.prompt_ids, kv_.block_size(), spec.cache_salt, &hashes);
  return kv_.find_cached_prefix(hashes, static_cast<int>(spec.prompt_ids.size())).num_tokens;
}

Result<RemotePrefillAllocation> Scheduler::allocate_for_remote_prefill(RequestSpec spec) {
  if (spec.prefill_only) return invalid_argument("a remote-prefill request cannot be prefill_only");
  PD_RETURN_IF_ERROR(validate_new(spec));
  if (num_active() >= config_.max_num_seqs) {
    return resource_exhausted("max_num_seqs (" + std::to_string(config_.max_num_seqs) +
                              ") requests active");
  }
  std::vector<protocol::BlockHash> hashes;
  protocol::extend_block_hashes(spec.prompt_ids, kv_.block_size(), spec.cache_salt, &hashes);
  const int prompt_len = static_cast<int>(spec.prompt_ids.size());
  kv::PrefixHit hit = kv_.find_cached_prefix(hashes, prompt_len);
  if (!kv_.can_allocate(spec.request_id, prompt_len, hit)) {
    return resource_exhausted(
        "no free KV blocks for " + std::to_string(prompt_len) + " prompt tokens (" +
        std::to_string(kv_.usage().num_free + kv_.usage().num_cached_free) + " blocks free)");
  }
  Request* r = insert(std::move(spec));
  kv_.allocate(r->id, prompt_len, hit);
  kv_.record_prefix_query(prompt_len, hit.num_tokens);
  r->state = RequestState::kRemoteKv;
  r->times.scheduled = std::chrono::steady_clock::now();
  r->num_cached_tokens = hit.num_tokens;
  ++num_remote_kv_;
  return RemotePrefillAllocation{kv_.block_table(r->id), hit.num_tokens};
}

Status Scheduler::start_decode(uint64_t request_id, const runner::SampledToken& first_token) {
  Request* r = find(request_id);
  if (!r) return not_found("request " + std::to_string(request_id) + " is not active");
  if (r->state != RequestState::kRemoteKv) {
    return failed_precondition("start_decode: request " + std::to_string(request_id) + " is " +
                               std::string(request_state_name(r->state)));
  }
  --num_remote_kv_;
  r->state = RequestState::kRunning;
  running_.push_back(r);
  r->num_computed = r->num_computed_done = r->prompt_len();
  if (append_tokens(r, std::span(&first_token, 1))) cache_computed_blocks(r);
  return ok_status();
}

Status Scheduler::release(uint64_t request_id) {
  Request* r = find(request_id);
  if (!r) return not_found("request " + std::to_string(request_id) + " is not active");
  if (r->state != RequestState::kPinned) {
    return failed_precondition("release: request " + std::to_string(request_id) + " is " +
                               std::string(request_state_name(r->state)) + ", not pinned");
  }
  kv_.free(request_id);
  --num_pinned_;
  requests_.erase(request_id);
  return ok_status();
}

Status Scheduler::abort(uint64_t request_id) {
  Request* r = find(request_id);
  if (!r) return not_found("request " + std::to_string(request_id) + " is not active");
  if (r->state == RequestState::kPinned) return release(request_id);
  RequestOutput out;
  out.request_id = request_id;
  out.num_cached_tokens = r->num_cached_tokens;
  out.num_prompt_tokens = r->prompt_len();
  out.times = r->times;
  finish(r, FinishReason::kAbort, &out);
  outputs_.push_back(std::move(out));
  return ok_status();
}

std::vector<RequestOutput> Scheduler::take_outputs() {
  std::vector<RequestOutput> out;
  out.swap(outputs_);
  return out;
}

bool Scheduler::has_work() const {
  return !waiting_.empty() || !running_.empty() || !retired_.empty() || !pending_removes_.empty() ||
         !outputs_.empty();
}

std::optional<RequestState> Scheduler::state_of(uint64_t request_id) const {
  const Request* r = find(request_id);
  if (!r) return std::nullopt;
  return r->state;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  s.num_waiting = static_cast<int>(waiting_.size());
  for (const Request* r : waiting_.ordered()) s.num_swapped += r->state == RequestState::kSwapped;
  s.num_running = static_cast<int>(running_.size());
  s.num_remote_kv = num_remote_kv_;
  s.num_pinned = num_pinned_;
  s.num_waiting_tokens = waiting_.num_tokens();
  s.num_preemptions = num_preemptions_;
  s.kv = kv_.usage();
  s.prefix_cache = kv_.prefix_cache_stats();
  s.spec_decode = spec_stats_;
  return s;
}

Status Scheduler::check_invariants() const {
  std::ostringstream problems;
  for (uint64_t id : kv_.table_owners()) {
    const Request* r = find(id);
    bool retired =
        std::any_of(retired_.begin(), retired_.end(), [id](const auto& q) { return q->id == id; });
    if (!r && !retired) problems << " request " << id << " holds blocks but is gone;";
  }
  for (const auto& [id, r] : requests_) {
    const bool has_table = kv_.has_table(id);
    const bool swapped = kv_.is_swapped(id);
    bool ok = true;
    switch (r->state) {
      case RequestState::kWaiting: ok = !has_table; break;
      case RequestState::kSwapped: ok = swapped; break;
      case RequestState::kRunning:
        ok = has_table && !swapped &&
             kv_.num_blocks_for(r->num_computed) <= static_cast<int>(kv_.block_table(id).size());
        break;
      case RequestState::kRemoteKv:
      case RequestState::kPinned: ok = has_table && !swapped; break;
      case RequestState::kFinished: ok = false; break;
    }
    if (!ok) {
      problems << " request " << id << " is " << request_state_name(r->state) << " with "
               << (has_table ? (swapped ? "host blocks" : "device blocks") : "no blocks") << ";";
    }
  }
  Status kv_status = kv_.check_invariants();
  if (!kv_status.ok()) problems << " " << kv_status.message();
  if (problems.tellp() == 0) return ok_status();
  return internal_error("scheduler invariants violated:" + problems.str());
}

}  // namespace pdserve::scheduler
