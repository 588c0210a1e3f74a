// A strict fake ModelRunner for scheduler and engine tests (never product
// code). It keeps a fake KV store: (physical block, slot) -> token. Each step
// writes the token of every computed position into the slot the block table
// names, then, for each sequence, reads positions [0, last] back through the
// block table and checks them against the sequence's history (prompt + the
// tokens it sampled). The token it samples is a hash of everything it read.
// So a wrong block table, a block overwritten while shared, a bad prefix-cache
// hit or a bad swap is a loud execute() error or a different output.
//
// It also checks: known seq ids, block ids in range and not repeated in a
// table, enough blocks, inputs equal to the history at their positions,
// kLastSampled only as a lone decode input, no two sequences writing one
// slot in a step, sampling only at the end of the history.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/runner/model_runner.h"

namespace pdserve::testing {

struct FakeRunnerOptions {
  int block_size = 4;
  int num_blocks = 64;
  int num_host_blocks = 0;
  int max_model_len = 256;
  int vocab_size = 1000;
  std::vector<int32_t> eos_token_ids;
};

class FakeModelRunner : public runner::ModelRunner {
 public:
  explicit FakeModelRunner(FakeRunnerOptions options = {});

  Status add_sequence(const runner::SequenceInfo& info) override;
  void remove_sequence(uint64_t seq_id) override;
  Result<runner::StepOutput> execute(const runner::StepBatch& batch) override;

  int block_size() const override { return opt_.block_size; }
  int num_blocks() const override { return opt_.num_blocks; }
  int num_host_blocks() const override { return opt_.num_host_blocks; }
  int max_model_len() const override { return opt_.max_model_len; }
  int vocab_size() const override { return opt_.vocab_size; }
  const std::vector<int32_t>& eos_token_ids() const override { return opt_.eos_token_ids; }

  // Test hooks. A slot never written reads kEmpty.
  static constexpr int32_t kEmpty = -100;
  int32_t kv_at(int32_t block, int slot) const { return device_[block * opt_.block_size + slot]; }
  void write_kv(int32_t block, int slot, int32_t token) {
    device_[block * opt_.block_size + slot] = token;
  }
  // Makes the next execute() fail (runner error path).
  void fail_next_execute() { fail_next_ = true; }

  int num_sequences() const { return static_cast<int>(seqs_.size()); }
  const std::vector<std::string>& violations() const { return violations_; }  // bad removes
  const std::vector<runner::StepBatch>& batches() const { return batches_; }
  void clear_batches() { batches_.clear(); }

 private:
  struct Seq {
    std::vector<int32_t> history;  // prompt, then every token sampled
    runner::SamplingParams sampling;
    int num_sampled = 0;
  };

  Status validate(const runner::StepBatch& batch) const;
  int32_t sample(Seq& seq, uint64_t read_hash) const;

  FakeRunnerOptions opt_;
  std::vector<int32_t> device_;
  std::vector<int32_t> host_;
  std::map<uint64_t, Seq> seqs_;
  std::vector<std::string> violations_;
  std::vector<runner::StepBatch> batches_;
  bool fail_next_ = false;
};

}  // namespace pdserve::testing
