// Scheduler::schedule(): what every sequence computes in the next step.
#include <algorithm>
#include <climits>
#include <tuple>

#include "common/base/logging.h"
#include "engine/scheduler/scheduler.h"

namespace pdserve::scheduler {
namespace {

bool is_prefilling(const Request& r) {
  return r.num_computed + 1 < r.num_tokens();
}

// Lower is served first; the victim is the largest.
std::tuple<int, uint64_t> service_key(const Request& r) {
  return {r.spec.priority, r.arrival};
}

}  // namespace

int Scheduler::num_new_tokens(const Request& r, int budget) const {
  // Length limits are known ahead: do not compute past them. (A stop token
  // is not: async scheduling may run one extra step, discarded in update.)
  if (static_cast<int>(r.output_ids.size()) + r.num_placeholders >= r.max_tokens ||
      r.num_tokens_with_placeholders() >= max_model_len_) {
    return 0;
  }
  int n = std::min(r.num_tokens_with_placeholders() - r.num_computed, budget);
  if (n > 1 && config_.max_prefill_chunk_tokens > 0)
    n = std::min(n, config_.max_prefill_chunk_tokens);
  return std::max(n, 0);
}

bool Scheduler::speculation_on() const {
  if (config_.num_speculative_tokens == 0) return false;
  // Every request the server holds, as vLLM counts enqueued requests: a
  // queue or prompts being prefilled mean the batch is (about to be) full.
  const size_t num_requests = static_cast<size_t>(num_active()) + waiting_.size();
  return num_requests < static_cast<size_t>(config_.speculative_disable_batch_size);
}

int Scheduler::num_to_propose(const Request& r, int end) const {
  // The proposals' KV (a draft model's) stays below the last position any
  // output can need.
  const int limit = std::min(max_model_len_, r.prompt_len() + r.max_tokens - 1);
  return std::clamp(limit - end, 0, config_.num_speculative_tokens);
}

Scheduler::Planned Scheduler::plan_running(Request* r, int budget, bool speculate) const {
  Planned p{r, num_new_tokens(*r, budget)};
  if (p.num_tokens == 0 || !speculate || r->num_placeholders > 0) return p;
  const int num_outputs = static_cast<int>(r->output_ids.size());
  if (p.num_tokens == 1 && r->num_computed + 1 == r->num_tokens()) {
    // A decode verifies the proposals that still fit: each accepted one is
    // an output, and one more token follows them.
    const int fit = std::min({r->max_tokens - num_outputs - 1, max_model_len_ - r->num_tokens() - 1,
                              budget - 1, static_cast<int>(r->draft_ids.size())});
    p.num_draft_tokens = std::max(fit, 0);
    p.num_tokens += p.num_draft_tokens;
  }
  if (r->num_computed + p.num_tokens == r->num_tokens() + p.num_draft_tokens) {
    p.num_propose = num_to_propose(*r, r->num_computed + p.num_tokens);
  }
  return p;
}

Request* Scheduler::pick_victim() const {
  Request* victim = nullptr;
  for (Request* r : running_) {
    // A prefill-only request whose first token is being sampled must keep
    // its blocks: it will finish (and maybe pin them) in update().
    if (r->spec.prefill_only && r->num_placeholders > 0) continue;
    if (!victim || service_key(*r) > service_key(*victim)) victim = r;
  }
  return victim;
}

void Scheduler::preempt(Request* victim, ScheduledStep* step, std::vector<Planned>* plan,
                        int* budget) {
  auto planned = std::find_if(plan->begin(), plan->end(),
                              [victim](const Planned& p) { return p.request == victim; });
  if (planned != plan->end()) {
    *budget += planned->num_tokens;
    plan->erase(planned);
  }
  running_.erase(std::find(running_.begin(), running_.end(), victim));
  victim->draft_ids.clear();
  if (config_.preemption_mode == PreemptionMode::kSwap && kv_.can_swap_out(victim->id)) {
    std::vector<runner::BlockCopy> copies = kv_.swap_out(victim->id);
    step->batch.swap_out.insert(step->batch.swap_out.end(), copies.begin(), copies.end());
    step->swapped_ids.push_back(victim->id);
    victim->state = RequestState::kSwapped;
  } else {
    kv_.free(victim->id);
    victim->num_computed = victim->num_computed_done = 0;
    victim->state = RequestState::kWaiting;
  }
  ++victim->epoch;
  ++victim->num_preemptions;
  ++num_preemptions_;
  waiting_.push(victim);
  PD_LOG(DEBUG) << "preempted request " << victim->id << " (" << request_state_name(victim->state)
                << ")";
}

void Scheduler::admit_waiting(ScheduledStep* step, std::vector<Planned>* plan, int* budget,
                              bool speculate) {
  for (Request* r : waiting_.ordered()) {
    if (*budget <= 0 || num_active() >= config_.max_num_seqs) break;
    // Preempted while a step in flight samples for it: wait for that token.
    if (r->num_placeholders > 0) continue;
    int n = 0;
    int num_propose = 0;
    if (r->state == RequestState::kSwapped) {
      n = num_new_tokens(*r, *budget);
      const int num_blocks = std::max(static_cast<int>(kv_.block_table(r->id).size()),
                                      kv_.num_blocks_for(r->num_computed + n));
      if (!kv_.can_swap_in(r->id) ||
          kv_.usage().num_free + kv_.usage().num_cached_free < num_blocks) {
        break;
      }
      std::vector<runner::BlockCopy> copies = kv_.swap_in(r->id);
      step->batch.swap_in.insert(step->batch.swap_in.end(), copies.begin(), copies.end());
      step->swapped_ids.push_back(r->id);
      r->last_step_id = step->step_id;  // the swap writes its blocks in this step
      kv_.allocate(r->id, r->num_computed + n);
      ++r->epoch;
      r->num_computed_done = r->num_computed;
    } else {
      PD_DCHECK(r->num_computed == 0);
      // At least the last token is computed: its logits give the next one.
      kv::PrefixHit hit = kv_.find_cached_prefix(r->block_hashes, r->num_tokens() - 1);
      n = std::min(r->num_tokens() - hit.num_tokens, *budget);
      if (config_.max_prefill_chunk_tokens > 0) n = std::min(n, config_.max_prefill_chunk_tokens);
      // A prefill that completes samples: it may ask for proposals.
      if (speculate && hit.num_tokens + n == r->num_tokens()) {
        num_propose = num_to_propose(*r, hit.num_tokens + n);
      }
      if (!kv_.can_allocate(r->id, hit.num_tokens + n + num_propose, hit)) break;
      kv_.allocate(r->id, hit.num_tokens + n + num_propose, hit);
      kv_.record_prefix_query(r->num_tokens(), hit.num_tokens);
      r->num_computed = r->num_computed_done = hit.num_tokens;
      if (r->num_preemptions == 0) r->num_cached_tokens = hit.num_tokens;
    }
    waiting_.erase(r);
    r->state = RequestState::kRunning;
    if (!r->times.scheduled) r->times.scheduled = std::chrono::steady_clock::now();
    running_.push_back(r);
    if (n > 0) {
      plan->push_back({r, n, 0, num_propose});
      *budget -= n;
    }
  }
}

void Scheduler::build_batch(const std::vector<Planned>& plan, ScheduledStep* step) {
  for (const Planned& p : plan) {
    Request* r = p.request;
    if (!r->in_runner) {
      step->add_seqs.push_back(r->sequence_info());
      r->in_runner = true;
    }
    runner::SeqStep s;
    s.seq_id = r->id;
    s.num_computed = r->num_computed;
    const int num_known = r->num_tokens();
    for (int pos = r->num_computed; pos < r->num_computed + p.num_tokens; ++pos) {
      if (pos < num_known) {
        s.input_ids.push_back(r->token_at(pos));
      } else if (pos - num_known < p.num_draft_tokens) {
        s.input_ids.push_back(r->draft_ids[static_cast<size_t>(pos - num_known)]);
      } else {
        // Sampled by the step before, not processed yet (async scheduling).
        PD_CHECK(p.num_tokens == 1 && pos == r->num_tokens_with_placeholders() - 1)
            << "request " << r->id << ": unknown token at position " << pos;
        s.input_ids.push_back(runner::kLastSampled);
      }
    }
    s.block_table = kv_.block_table(r->id);
    s.sample =
        r->num_computed + p.num_tokens - p.num_draft_tokens == r->num_tokens_with_placeholders();
    s.num_draft_tokens = p.num_draft_tokens;
    s.num_propose = s.sample ? p.num_propose : 0;
    r->draft_ids.clear();
    step->seqs.push_back({r->id, r->epoch, p.num_tokens, s.sample, p.num_draft_tokens});
    step->batch.seqs.push_back(std::move(s));
    r->num_computed += p.num_tokens;
    if (step->batch.seqs.back().sample) ++r->num_placeholders;
    r->last_step_id = step->step_id;
  }
}

ScheduledStep Scheduler::schedule() {
  ScheduledStep step;
  step.step_id = ++next_step_id_;
  int budget = config_.max_num_batched_tokens;
  std::vector<Planned> plan;
  bool preempted = false;

  // Running requests: decodes first, then continuing prefill chunks.
  const bool speculate = speculation_on();
  std::vector<Request*> order = running_;
  std::stable_sort(order.begin(), order.end(), [](const Request* a, const Request* b) {
    return std::make_tuple(is_prefilling(*a), a->spec.priority, a->arrival) <
           std::make_tuple(is_prefilling(*b), b->spec.priority, b->arrival);
  });
  for (Request* r : order) {
    if (r->state != RequestState::kRunning || budget <= 0) continue;
    const Planned planned = plan_running(r, budget, speculate);
    if (planned.num_tokens == 0) continue;
    const int num_slots = r->num_computed + planned.num_tokens + planned.num_propose;
    bool scheduled = true;
    while (!kv_.can_allocate(r->id, num_slots)) {
      Request* victim = pick_victim();
      PD_CHECK(victim) << "no preemption victim for request " << r->id;
      preempt(victim, &step, &plan, &budget);
      preempted = true;
      if (victim == r) {
        scheduled = false;
        break;
      }
    }
    if (!scheduled) continue;
    kv_.allocate(r->id, num_slots);
    plan.push_back(planned);
    budget -= planned.num_tokens;
  }
  if (!preempted) admit_waiting(&step, &plan, &budget, speculate);
  build_batch(plan, &step);
  step.remove_seqs.swap(pending_removes_);
  return step;
}

}  // namespace pdserve::scheduler
