#include "tests/engine/scheduler/fake_model_runner.h"

#include <algorithm>
#include <set>

namespace pdserve::testing {
namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h *= 0xbf58476d1ce4e5b9ULL;
  return h ^ (h >> 31);
}

bool contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

FakeModelRunner::FakeModelRunner(FakeRunnerOptions options)
    : opt_(std::move(options)),
      device_(static_cast<size_t>(opt_.num_blocks) * opt_.block_size, kEmpty),
      host_(static_cast<size_t>(opt_.num_host_blocks) * opt_.block_size, kEmpty) {}

Status FakeModelRunner::add_sequence(const runner::SequenceInfo& info) {
  if (seqs_.contains(info.seq_id)) {
    return already_exists("fake runner: seq " + std::to_string(info.seq_id) + " added twice");
  }
  if (info.prompt_ids.empty()) return invalid_argument("fake runner: empty prompt");
  std::vector<int32_t> history = info.prompt_ids;  // what came before the runner saw it
  history.insert(history.end(), info.output_ids.begin(), info.output_ids.end());
  seqs_[info.seq_id] = Seq{std::move(history), info.sampling, 0};
  return ok_status();
}

void FakeModelRunner::remove_sequence(uint64_t seq_id) {
  if (seqs_.erase(seq_id) == 0) {
    violations_.push_back("remove of unknown seq " + std::to_string(seq_id));
  }
}

Status FakeModelRunner::validate(const runner::StepBatch& batch) const {
  const int bs = opt_.block_size;
  for (const auto& c : batch.swap_out) {
    if (c.src < 0 || c.src >= opt_.num_blocks || c.dst < 0 || c.dst >= opt_.num_host_blocks) {
      return out_of_range("swap_out " + std::to_string(c.src) + "->" + std::to_string(c.dst));
    }
  }
  for (const auto& c : batch.swap_in) {
    if (c.src < 0 || c.src >= opt_.num_host_blocks || c.dst < 0 || c.dst >= opt_.num_blocks) {
      return out_of_range("swap_in " + std::to_string(c.src) + "->" + std::to_string(c.dst));
    }
  }
  std::set<uint64_t> ids;
  std::set<int64_t> written;
  for (const runner::SeqStep& s : batch.seqs) {
    const std::string who = "seq " + std::to_string(s.seq_id);
    auto it = seqs_.find(s.seq_id);
    if (it == seqs_.end()) return not_found(who + " unknown");
    if (!ids.insert(s.seq_id).second) return invalid_argument(who + " twice in a batch");
    const Seq& seq = it->second;
    const int n = static_cast<int>(s.input_ids.size());
    if (n == 0 || s.num_computed < 0) return invalid_argument(who + ": empty step");
    const int end = s.num_computed + n;
    if (static_cast<int>(s.block_table.size()) < (end + bs - 1) / bs) {
      return invalid_argument(who + ": " + std::to_string(s.block_table.size()) + " blocks for " +
                              std::to_string(end) + " positions");
    }
    std::set<int32_t> blocks(s.block_table.begin(), s.block_table.end());
    if (blocks.size() != s.block_table.size()) return invalid_argument(who + ": repeated block");
    for (int32_t b : s.block_table) {
      if (b < 0 || b >= opt_.num_blocks) return out_of_range(who + ": block " + std::to_string(b));
    }
    const int history_len = static_cast<int>(seq.history.size());
    if (end > history_len) {
      return invalid_argument(who + ": computes up to position " + std::to_string(end - 1) +
                              " with a history of " + std::to_string(history_len));
    }
    if (s.sample && end != history_len) {
      return invalid_argument(who + ": samples at position " + std::to_string(end - 1) +
                              ", history has " + std::to_string(history_len));
    }
    for (int i = 0; i < n; ++i) {
      const int pos = s.num_computed + i;
      const int32_t token = s.input_ids[i];
      if (token == runner::kLastSampled) {
        if (n != 1 || seq.num_sampled == 0 || pos != history_len - 1) {
          return invalid_argument(who + ": kLastSampled at position " + std::to_string(pos));
        }
      } else if (token != seq.history[pos]) {
        return invalid_argument(who + ": input " + std::to_string(token) + " at position " +
                                std::to_string(pos) + ", history has " +
                                std::to_string(seq.history[pos]));
      }
      const int64_t slot = static_cast<int64_t>(s.block_table[pos / bs]) * bs + pos % bs;
      if (!written.insert(slot).second) {
        return invalid_argument(who + ": slot " + std::to_string(slot) + " written twice");
      }
    }
  }
  return ok_status();
}

int32_t FakeModelRunner::sample(Seq& seq, uint64_t read_hash) const {
  const auto& p = seq.sampling;
  auto stops = [&](int32_t t) {
    return (!p.ignore_eos && contains(opt_.eos_token_ids, t)) || contains(p.stop_token_ids, t);
  };
  int32_t token = static_cast<int32_t>(read_hash % static_cast<uint64_t>(opt_.vocab_size));
  // min_tokens: stop tokens are masked until that many were generated.
  while (seq.num_sampled < p.min_tokens && stops(token)) token = (token + 1) % opt_.vocab_size;
  return token;
}

Result<runner::StepOutput> FakeModelRunner::execute(const runner::StepBatch& batch) {
  batches_.push_back(batch);
  if (fail_next_) {
    fail_next_ = false;
    return internal_error("fake runner: injected failure");
  }
  Status valid = validate(batch);
  if (!valid.ok()) return valid.with_context("fake runner");
  const int bs = opt_.block_size;
  auto copy = [bs](const std::vector<int32_t>& from, int32_t src, std::vector<int32_t>& to,
                   int32_t dst) {
    std::copy_n(from.begin() + static_cast<int64_t>(src) * bs, bs,
                to.begin() + static_cast<int64_t>(dst) * bs);
  };
  for (const auto& c : batch.swap_out) copy(device_, c.src, host_, c.dst);
  for (const auto& c : batch.swap_in) copy(host_, c.src, device_, c.dst);
  // Every sequence's writes land before any sequence reads.
  for (const runner::SeqStep& s : batch.seqs) {
    const Seq& seq = seqs_.at(s.seq_id);
    for (size_t i = 0; i < s.input_ids.size(); ++i) {
      const int pos = s.num_computed + static_cast<int>(i);
      device_[static_cast<int64_t>(s.block_table[pos / bs]) * bs + pos % bs] = seq.history[pos];
    }
  }
  runner::StepOutput out;
  for (const runner::SeqStep& s : batch.seqs) {
    Seq& seq = seqs_.at(s.seq_id);
    const int end = s.num_computed + static_cast<int>(s.input_ids.size());
    uint64_t h = 0x1234;
    for (int pos = 0; pos < end; ++pos) {
      const int32_t read = device_[static_cast<int64_t>(s.block_table[pos / bs]) * bs + pos % bs];
      if (read != seq.history[pos]) {
        return data_loss("fake runner: seq " + std::to_string(s.seq_id) + " reads " +
                         std::to_string(read) + " at position " + std::to_string(pos) + " (block " +
                         std::to_string(s.block_table[pos / bs]) + "), expected " +
                         std::to_string(seq.history[pos]));
      }
      h = mix(h, static_cast<uint32_t>(read));
    }
    if (!s.sample) continue;
    runner::SampledToken t;
    t.seq_id = s.seq_id;
    t.token_id = sample(seq, h);
    t.logprob = -static_cast<float>(t.token_id % 13) / 8.0f;
    for (int k = 0; k < seq.sampling.num_logprobs; ++k) {
      t.top.push_back({(t.token_id + k) % opt_.vocab_size, t.logprob - static_cast<float>(k)});
    }
    seq.history.push_back(t.token_id);
    ++seq.num_sampled;
    out.sampled.push_back(std::move(t));
  }
  return out;
}

}  // namespace pdserve::testing
