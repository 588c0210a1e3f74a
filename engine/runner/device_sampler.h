// The runner's sampling on its backend (Backend::sample_rows), for every
// sampling parameter: only the sampled ids and the requested logprobs come
// back to the host, never the logits. Each sequence with a penalty owns a
// history slot in backend memory (its output counts, and a bit per token
// seen in its prompt or output), filled once at add() and advanced by sample_rows as it samples,
// so no history is uploaded per step. A step's parameters and allowed-token
// masks go into buffers that only grow (fixed addresses between growths, as
// a recorded graph will need).
//
// Not thread-safe: used by the runner's thread.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/runner/model_runner.h"

namespace pdserve::runner {

class DeviceSampler {
 public:
  DeviceSampler(backend::Backend& be, int vocab_size);

  // Records a sequence (a history slot when its params have penalties) from
  // its prompt and the tokens it generated already; again for a sequence
  // recorded before, replaces its history (tokens sampled elsewhere).
  void add(uint64_t seq_id, const SamplingParams& params, std::span<const int32_t> prompt_ids,
           std::span<const int32_t> output_ids);
  void remove(uint64_t seq_id);

  struct Row {
    uint64_t seq_id = 0;  // added before
    const SamplingParams* params = nullptr;
    uint64_t seed = 0;
    uint64_t draw_index = 0;  // tokens the sequence generated so far
    // backend::mask_words(vocab) words, bit set: may be sampled; empty: every token.
    std::vector<uint32_t> allowed;
  };
  // One token per row of logits [rows.size(), vocab] (the tokens' seq_id left 0).
  std::vector<SampledToken> sample(const backend::Tensor& logits, std::span<const Row> rows);

 private:
  // A free history slot, growing the history tensors when there is none.
  int take_slot();
  // t, reallocated unless it has at least need's rows (and columns).
  backend::Tensor& reserve(backend::Tensor& t, backend::Shape need, backend::DType dtype);

  backend::Backend& be_;
  int64_t vocab_;
  std::unordered_map<uint64_t, int> slots_;  // sequences with a history
  std::vector<int> free_slots_;
  backend::Tensor output_counts_;  // [slots, vocab] i32
  backend::Tensor seen_;           // [slots, mask_words(vocab)] i32: prompt and output tokens
  backend::Tensor params_;         // [rows, kSamplingRowWords] i32
  backend::Tensor allowed_;        // [masks, mask_words(vocab)] i32
  backend::Tensor results_;        // [>= rows * (2 + 2 * max_top)] i32: a step's outputs (sample())
};

}  // namespace pdserve::runner
