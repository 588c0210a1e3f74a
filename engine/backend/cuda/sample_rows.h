// Sampling of bf16 logits rows on the GPU (Backend::sample_rows). A row is
// spread over chunks of 4096 tokens (a grid of rows x chunks), and every
// pass over it reads the bf16 logits at memory bandwidth, recomputing the
// processed value of a token (allowed-token mask, penalties from the row's
// history slot, temperature) rather than storing it:
//
// 1. scan: the largest processed value (greedy rows and top_k 1 end here),
//    the raw log-sum-exp and the top-N raw logits (per chunk, then merged);
// 2. select (rows with min_p / top_k / top_p): the kept set is a prefix of
//    the CPU's order (descending value, ties by id), found by a radix
//    select over the values' order-preserving keys: up to three rounds of
//    per-chunk histograms (tokens and fixed-point mass per 11-bit digit)
//    merged by the row's last block, which finds the digit where the kept
//    count (min(top_k, tokens passing min_p)) or the kept mass (top_p of
//    the row's) is reached; ties at the cut are kept by id;
// 3. keep: the kept mass per chunk, then ONE draw by inverse CDF over the
//    kept set in vocabulary order (the chunk, then the token in it).
//
// Masses are fixed-point integers (2^-40 of the top token's), so every sum
// is exact: a row's token depends only on the row, its parameters and its
// (seed, draw_index), never on the batch or the chunking, and follows the
// CPU's filtered distribution. No host synchronisation, no allocation:
// the workspace comes from the caller.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/backend/sampling_row.h"

namespace pdserve::backend::cuda {

struct SampleRowsArgs {
  const uint16_t* logits;     // [rows, vocab] bf16
  const SamplingRow* params;  // [rows]
  int32_t* output_counts;     // [num_slots, vocab]; the sampled token's count += 1
  uint32_t* seen;             // [num_slots, mask_words(vocab)]; the sampled token's bit set
  int64_t num_slots;          // a history_slot outside [0, num_slots): no penalties
  const uint32_t* allowed;    // [num_masks, mask_words(vocab)]
  int64_t num_masks;          // an allowed_row outside [0, num_masks): every token
  int64_t rows;
  int64_t vocab;        // <= kMaxSampleVocab
  void* workspace;      // sample_rows_workspace_bytes(rows, vocab, max_top)
  int32_t* token_ids;   // [rows]
  float* logprobs;      // [rows]; null when max_top < 0
  int32_t* top_ids;     // [rows, max_top]
  float* top_logprobs;  // [rows, max_top]
  int max_top;          // -1: no logprobs at all; <= kMaxSampleTop
};

inline constexpr int64_t kMaxSampleVocab = int64_t{1} << 20;
inline constexpr int kMaxSampleTop = 64;

size_t sample_rows_workspace_bytes(int64_t rows, int64_t vocab, int max_top);
void launch_sample_rows(const SampleRowsArgs& a, void* stream);

}  // namespace pdserve::backend::cuda
