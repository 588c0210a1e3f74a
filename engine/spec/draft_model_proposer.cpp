#include "engine/spec/draft_model_proposer.h"

#include <algorithm>
#include <string>

namespace pdserve::spec {
namespace {

constexpr uint64_t kDraftStream = 0x2545f4914f6cdd1dull;
constexpr uint64_t kNoWriter = ~0ull;

}  // namespace

Result<std::unique_ptr<DraftModelProposer>> DraftModelProposer::create(
    std::unique_ptr<runner::LlmRunner> draft, const runner::ModelRunner& target) {
  auto mismatch = [](const char* what, int draft_value, int target_value) {
    return invalid_argument(std::string("draft model: ") + what + " " +
                            std::to_string(draft_value) + " differs from the target's " +
                            std::to_string(target_value));
  };
  if (draft->vocab_size() != target.vocab_size()) {
    return mismatch("vocabulary size", draft->vocab_size(), target.vocab_size());
  }
  if (draft->block_size() != target.block_size()) {
    return mismatch("block size", draft->block_size(), target.block_size());
  }
  if (draft->num_blocks() != target.num_blocks()) {
    return mismatch("KV block count", draft->num_blocks(), target.num_blocks());
  }
  if (draft->max_model_len() != target.max_model_len()) {
    return mismatch("max_model_len", draft->max_model_len(), target.max_model_len());
  }
  return std::unique_ptr<DraftModelProposer>(new DraftModelProposer(std::move(draft)));
}

DraftModelProposer::DraftModelProposer(std::unique_ptr<runner::LlmRunner> draft)
    : draft_(std::move(draft)),
      block_writer_(static_cast<size_t>(draft_->num_blocks()), kNoWriter) {}

void DraftModelProposer::remove_sequence(uint64_t seq_id) {
  if (seqs_.erase(seq_id) > 0) draft_->remove_sequence(seq_id);
}

int DraftModelProposer::num_valid(const SeqState& st, const ProposeInput& in) const {
  const auto common =
      std::mismatch(st.tokens.begin(), st.tokens.end(), in.token_ids.begin(), in.token_ids.end());
  int n = static_cast<int>(common.first - st.tokens.begin());
  const int bs = draft_->block_size();
  for (int b = 0; b * bs < n; ++b) {
    const auto i = static_cast<size_t>(b);
    if (i >= in.block_table.size() || in.block_table[i] != st.block_table[i] ||
        block_writer_[static_cast<size_t>(in.block_table[i])] != in.seq_id) {
      n = b * bs;
      break;
    }
  }
  // The last known token is always an input: its logits give the first draft.
  return std::min(n, static_cast<int>(in.token_ids.size()) - 1);
}

Status DraftModelProposer::draft_step(const runner::StepBatch& batch,
                                      std::vector<Drafting*>& drafting) {
  PD_ASSIGN_OR_RETURN(std::vector<float> logits, draft_->compute_logits(batch));
  const auto vocab = static_cast<size_t>(draft_->vocab_size());
  for (size_t i = 0; i < drafting.size(); ++i) {
    Drafting& d = *drafting[i];
    runner::SamplingContext ctx = *d.input->sampling;
    ctx.output_ids = d.outputs;
    std::vector<double> q =
        runner::sampling_probs(std::span<float>(logits.data() + i * vocab, vocab), ctx);
    const uint64_t index = d.outputs.size();
    const int32_t token =
        runner::draw_from(q, runner::uniform_draw(ctx.seed ^ kDraftStream, index));
    d.proposal.token_ids.push_back(token);
    if (ctx.params->temperature > 1e-5f) d.proposal.probs.push_back(std::move(q));
    d.outputs.push_back(token);
  }
  return ok_status();
}

Result<std::vector<Proposal>> DraftModelProposer::propose(std::span<const ProposeInput> inputs) {
  std::vector<Drafting> drafting(inputs.size());
  std::vector<Drafting*> active;
  runner::StepBatch batch;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ProposeInput& in = inputs[i];
    drafting[i].input = &in;
    drafting[i].outputs.assign(in.sampling->output_ids.begin(), in.sampling->output_ids.end());
    if (in.num_propose <= 0 || in.token_ids.empty()) continue;
    auto [it, added] = seqs_.try_emplace(in.seq_id);
    if (added) PD_RETURN_IF_ERROR(draft_->add_sequence({.seq_id = in.seq_id}));
    SeqState& st = it->second;
    const int valid = num_valid(st, in);
    runner::SeqStep s;
    s.seq_id = in.seq_id;
    s.input_ids.assign(in.token_ids.begin() + valid, in.token_ids.end());
    s.num_computed = valid;
    s.block_table.assign(in.block_table.begin(), in.block_table.end());
    s.sample = true;
    st.tokens.assign(in.token_ids.begin(), in.token_ids.end());
    st.block_table = s.block_table;
    batch.seqs.push_back(std::move(s));
    active.push_back(&drafting[i]);
  }
  for (int step = 1; !batch.seqs.empty(); ++step) {
    PD_RETURN_IF_ERROR(draft_step(batch, active));
    // The next step feeds each draft back, for the sequences that want more.
    runner::StepBatch next;
    std::vector<Drafting*> still;
    for (size_t i = 0; i < active.size(); ++i) {
      Drafting& d = *active[i];
      if (step >= d.input->num_propose) continue;
      runner::SeqStep s = std::move(batch.seqs[i]);
      s.num_computed += static_cast<int32_t>(s.input_ids.size());
      s.input_ids = {d.proposal.token_ids.back()};
      seqs_.at(d.input->seq_id).tokens.push_back(d.proposal.token_ids.back());
      next.seqs.push_back(std::move(s));
      still.push_back(&d);
    }
    batch = std::move(next);
    active = std::move(still);
  }
  for (const ProposeInput& in : inputs) {
    const auto it = seqs_.find(in.seq_id);
    if (in.num_propose <= 0 || it == seqs_.end()) continue;
    const auto num_written = static_cast<int>(it->second.tokens.size());
    const int bs = draft_->block_size();
    for (int b = 0; b * bs < num_written; ++b) {
      block_writer_[static_cast<size_t>(it->second.block_table[static_cast<size_t>(b)])] =
          in.seq_id;
    }
  }
  std::vector<Proposal> out;
  out.reserve(drafting.size());
  for (Drafting& d : drafting) out.push_back(std::move(d.proposal));
  return out;
}

}  // namespace pdserve::spec
