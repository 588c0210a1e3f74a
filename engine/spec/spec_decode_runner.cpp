#include "engine/spec/spec_decode_runner.h"

#include <algorithm>
#include <string>

#include "engine/spec/rejection_sampler.h"

namespace pdserve::spec {

SpecDecodeRunner::SpecDecodeRunner(runner::LlmRunner* target, std::unique_ptr<Proposer> proposer)
    : target_(target), proposer_(std::move(proposer)) {}

runner::SamplingContext SpecDecodeRunner::SeqState::context() const {
  const std::span<const int32_t> all(tokens);
  return {&params, all.first(prompt_len), all.subspan(prompt_len), {}, seed};
}

Status SpecDecodeRunner::add_sequence(const runner::SequenceInfo& info) {
  SeqState st;
  st.seed = runner::sequence_seed(info.sampling);
  runner::SequenceInfo target_info = info;
  target_info.sampling.seed = st.seed;  // one stream of draws, whoever samples
  PD_RETURN_IF_ERROR(target_->add_sequence(target_info));
  st.grammar = target_->grammar(info.seq_id);
  st.params = info.sampling;
  st.tokens = info.prompt_ids;
  st.tokens.insert(st.tokens.end(), info.output_ids.begin(), info.output_ids.end());
  st.prompt_len = info.prompt_ids.size();
  seqs_[info.seq_id] = std::move(st);
  return ok_status();
}

void SpecDecodeRunner::remove_sequence(uint64_t seq_id) {
  target_->remove_sequence(seq_id);
  proposer_->remove_sequence(seq_id);
  seqs_.erase(seq_id);
}

Result<std::vector<runner::SampledToken>> SpecDecodeRunner::sample(const runner::SeqStep& s,
                                                                   SeqState& st,
                                                                   std::span<float> rows) {
  runner::SamplingContext ctx = st.context();
  ctx.eos_token_ids = target_->eos_token_ids();
  const int d = s.num_draft_tokens;
  const std::span<const int32_t> drafts(s.input_ids.end() - d, s.input_ids.end());
  if (st.grammar) st.grammar->apply(rows, static_cast<size_t>(vocab_size()));  // prepared
  if (d == 0) return std::vector<runner::SampledToken>{runner::sample_token(rows, ctx)};
  if (st.pending.token_ids.size() < static_cast<size_t>(d) ||
      !std::equal(drafts.begin(), drafts.end(), st.pending.token_ids.begin())) {
    return invalid_argument("sequence " + std::to_string(s.seq_id) +
                            ": draft tokens to verify that were not proposed");
  }
  return verify(rows, vocab_size(), st.pending, d, ctx);
}

Result<runner::StepOutput> SpecDecodeRunner::execute_plain(const runner::StepBatch& batch) {
  PD_ASSIGN_OR_RETURN(runner::StepOutput out, target_->execute(batch));
  for (const runner::SampledToken& t : out.sampled) {
    SeqState& st = seqs_.at(t.seq_id);
    st.tokens.push_back(t.token_id);
    st.pending = {};
  }
  return out;
}

Result<runner::StepOutput> SpecDecodeRunner::execute(const runner::StepBatch& batch) {
  for (const runner::SeqStep& s : batch.seqs) {
    if (s.sample && !seqs_.contains(s.seq_id)) {
      return not_found("sequence " + std::to_string(s.seq_id) + " was never added");
    }
  }
  // Nothing to verify or propose: the target's own step.
  if (std::none_of(batch.seqs.begin(), batch.seqs.end(), [](const runner::SeqStep& s) {
        return s.num_draft_tokens != 0 || s.num_propose != 0;
      })) {
    return execute_plain(batch);
  }
  // The constrained rows' masks (one per draft row) are computed while the
  // target's forward pass runs.
  std::vector<runner::MaskWorker::Job> masks;
  for (const runner::SeqStep& s : batch.seqs) {
    if (!s.sample) continue;
    SeqState& st = seqs_.at(s.seq_id);
    if (!st.grammar) continue;
    // A batch with more drafts than inputs fails validation in compute_logits.
    const size_t d =
        std::min(static_cast<size_t>(std::max(s.num_draft_tokens, 0)), s.input_ids.size());
    masks.push_back({st.grammar, std::span<const int32_t>(s.input_ids).last(d)});
  }
  std::vector<float> hidden;  // [rows, hidden_size] when the proposer reads them
  std::vector<float>* wants_hidden = proposer_->needs_hidden_states() ? &hidden : nullptr;
  PD_ASSIGN_OR_RETURN(std::vector<float> logits,
                      masks_.overlap<std::vector<float>>(std::move(masks), [&] {
                        return target_->compute_logits(batch, wants_hidden);
                      }));
  const auto vocab = static_cast<size_t>(vocab_size());
  const auto hidden_size = static_cast<size_t>(target_->config().hidden_size);
  std::vector<std::span<const float>> seq_hidden(batch.seqs.size());
  runner::StepOutput out;
  size_t row = 0;
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const runner::SeqStep& s = batch.seqs[i];
    if (!s.sample) continue;
    SeqState& st = seqs_.at(s.seq_id);
    const size_t num_rows = static_cast<size_t>(s.num_draft_tokens) + 1;
    std::span<float> rows(logits.data() + row * vocab, num_rows * vocab);
    PD_ASSIGN_OR_RETURN(std::vector<runner::SampledToken> tokens, sample(s, st, rows));
    if (wants_hidden) {
      seq_hidden[i] =
          std::span<const float>(hidden).subspan(row * hidden_size, tokens.size() * hidden_size);
    }
    row += num_rows;
    st.pending = {};
    const size_t first = st.tokens.size();
    for (runner::SampledToken& t : tokens) {
      t.seq_id = s.seq_id;
      st.tokens.push_back(t.token_id);
      out.sampled.push_back(std::move(t));
    }
    PD_RETURN_IF_ERROR(
        target_->record_tokens(s.seq_id, std::span<const int32_t>(st.tokens).subspan(first)));
  }
  PD_RETURN_IF_ERROR(propose(batch, seq_hidden, &out));
  return out;
}

Status SpecDecodeRunner::propose(const runner::StepBatch& batch,
                                 const std::vector<std::span<const float>>& hidden,
                                 runner::StepOutput* out) {
  std::vector<ProposeInput> inputs;
  std::vector<runner::SamplingContext> contexts;
  contexts.reserve(batch.seqs.size());
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    const runner::SeqStep& s = batch.seqs[i];
    if (!s.sample || s.num_propose == 0) continue;
    const SeqState& st = seqs_.at(s.seq_id);
    contexts.push_back(st.context());
    contexts.back().eos_token_ids = target_->eos_token_ids();
    inputs.push_back(
        {s.seq_id, st.tokens, s.block_table, s.num_propose, &contexts.back(), hidden[i]});
  }
  if (inputs.empty()) return ok_status();
  PD_ASSIGN_OR_RETURN(std::vector<Proposal> proposals, proposer_->propose(inputs));
  for (size_t i = 0; i < inputs.size(); ++i) {
    Proposal& p = proposals[i];
    if (p.token_ids.empty()) continue;
    out->drafts.push_back({inputs[i].seq_id, p.token_ids});
    seqs_.at(inputs[i].seq_id).pending = std::move(p);
  }
  return ok_status();
}

}  // namespace pdserve::spec
