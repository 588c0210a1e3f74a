// The runner's sampling on its backend (Backend::sample_rows, or
// masked_argmax_rows / argmax_rows when every row is greedy), for every
// sampling parameter: only the sampled ids and the requested logprobs come
// back to the host, never the logits. Each sequence with a penalty owns a
// history slot in backend memory (its output counts, and a bit per token
// seen in its prompt or output), filled once at add() and advanced by sample_rows as it samples,
// so no history is uploaded per step. A step's parameters and allowed-token
// masks go into buffers that only grow (fixed addresses between growths, as
// a recorded graph will need). The masks are written by the caller straight
// into host memory the backend uploads from without staging (mask_rows():
// page-locked on CUDA), and uploaded asynchronously.
//
// Not thread-safe: used by the runner's thread (mask_rows()' rows may be
// written from any thread, before the next sample() or argmax()).
#pragma once

#include <cstdint>
#include <memory>
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

  // The allowed-token masks of the next sample() or argmax(): num_rows rows
  // of backend::mask_words(vocab) words (bit t % 32 of word t / 32 set: token
  // t may be sampled), uninitialised, for the caller to fill before that
  // call, which uploads and consumes them. The memory stays valid until the
  // next mask_rows().
  std::span<uint32_t> mask_rows(size_t num_rows);

  struct Row {
    uint64_t seq_id = 0;  // added before
    const SamplingParams* params = nullptr;
    uint64_t seed = 0;
    uint64_t draw_index = 0;  // tokens the sequence generated so far
    int32_t mask_row = -1;    // its allowed tokens: a row of mask_rows(); -1: every token
  };
  // One token per row of logits [rows.size(), vocab] (the tokens' seq_id left 0).
  std::vector<SampledToken> sample(const backend::Tensor& logits, std::span<const Row> rows);

  // The greedy token of each row of logits [rows, vocab]: with mask_rows(rows)
  // written, row r's under mask row r (as sample() would pick it for a greedy
  // row without penalties or logprobs); else the argmax, `computed` when the
  // step's graph computed it already (undefined: not computed).
  std::vector<SampledToken> argmax(const backend::Tensor& logits, const backend::Tensor& computed);

 private:
  // A free history slot, growing the history tensors when there is none.
  int take_slot();
  // t, reallocated unless it has at least need's rows (and columns).
  backend::Tensor& reserve(backend::Tensor& t, backend::Shape need, backend::DType dtype);
  // The rows mask_rows() gave, uploaded into allowed_ (undefined: none); consumes them.
  backend::Tensor upload_masks();

  backend::Backend& be_;
  int64_t vocab_;
  std::unordered_map<uint64_t, int> slots_;  // sequences with a history
  std::vector<int> free_slots_;
  backend::Tensor output_counts_;  // [slots, vocab] i32
  backend::Tensor seen_;           // [slots, mask_words(vocab)] i32: prompt and output tokens
  backend::Tensor params_;         // [rows, kSamplingRowWords] i32
  backend::Tensor allowed_;        // [masks, mask_words(vocab)] i32
  backend::Tensor results_;        // [>= rows * (2 + 2 * max_top)] i32: a step's outputs
  // mask_rows()' memory (Backend::alloc_host): host_mask_words_ words, the
  // first num_mask_rows_ rows written for the next call. Every call that
  // uploads it ends with a read-back, so no upload is left reading it when
  // mask_rows() writes or replaces it.
  std::shared_ptr<void> host_masks_;
  size_t host_mask_words_ = 0;
  size_t num_mask_rows_ = 0;
};

}  // namespace pdserve::runner
