// Sampling of bf16 logits rows on the GPU (Backend::sample_rows): one
// thread block per row. Masks, penalties and temperature are applied in
// one pass that writes the processed row to a workspace; greedy rows take
// its argmax; other rows draw by inverse CDF in vocabulary order from the
// candidates and test the draw against min_p / top_k / top_p by its rank
// and the mass ranked before it (descending value, ties by id: the CPU's
// order); a rejected draw leaves only the tokens ranked before it as
// candidates for the next draw. The kept set is a prefix of that order, so
// the accepted token follows exactly the CPU's distribution without a sort.
// Masses are fixed-point integers (2^-40 of the top token's), so sums do
// not depend on the order of additions: a row's result depends only on the
// row, its parameters and its (seed, draw_index).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend/sampling_row.h"

namespace pdserve::backend::cuda {

struct SampleRowsArgs {
  const uint16_t* logits;       // [rows, vocab] bf16
  const SamplingRow* params;    // [rows]
  int32_t* output_counts;       // [num_slots, vocab]; the sampled token's count += 1
  const uint32_t* prompt_seen;  // [num_slots, mask_words(vocab)]
  int64_t num_slots;            // a history_slot outside [0, num_slots): no penalties
  const uint32_t* allowed;      // [num_masks, mask_words(vocab)]
  int64_t num_masks;            // an allowed_row outside [0, num_masks): every token
  int64_t rows;
  int64_t vocab;        // <= kMaxSampleVocab
  float* workspace;     // [rows, vocab]
  int32_t* token_ids;   // [rows]
  float* logprobs;      // [rows]; null when max_top < 0
  int32_t* top_ids;     // [rows, max_top]
  float* top_logprobs;  // [rows, max_top]
  int max_top;          // -1: no logprobs at all
};

inline constexpr int64_t kMaxSampleVocab = int64_t{1} << 20;

size_t sample_rows_workspace_bytes(int64_t rows, int64_t vocab);
void launch_sample_rows(const SampleRowsArgs& a, void* stream);

}  // namespace pdserve::backend::cuda
