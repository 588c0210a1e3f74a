// The arithmetic of the CPU attention (cpu_attention.cpp): up to
// kMaxAttentionRows query rows that read one KV head attend together over
// the keys they read. The rows are the lanes of the score vectors, four per
// SSE register (one register for up to four rows, two for up to eight), so
// each key and value is loaded once for all of them. Per row, in order:
// scores q . k summed over d in order and scaled, -inf for the keys the row
// does not read; their maximum; e^(score - max) by exp_lanes and their sum
// over the keys in order; the weighted sum of V over the keys in order;
// that divided by the sum. A key a row does not read adds exact zeros, so a
// row's result is bitwise the same whichever rows and keys share its pass.
// On a CPU with FMA the multiply-adds of the scores and of the weighted sum
// are fused (results then differ from a machine without FMA in the last
// bits, never between batch shapes).
#pragma once

#include <vector>

#include "engine/backend/cpu/lanes.h"

namespace pdserve::backend::cpu {

constexpr int kMaxAttentionRows = 8;

struct AttentionRows {
  int num_rows;  // 1 to kMaxAttentionRows
  int head_dim;
  int lo, hi;                         // keys [lo, hi] serve some row
  const float* q[kMaxAttentionRows];  // [head_dim] each
  float* out[kMaxAttentionRows];      // [head_dim] each
  int first[kMaxAttentionRows];       // row i reads keys [first[i], last[i]], within [lo, hi]
  int last[kMaxAttentionRows];
  const float* const* k;  // [hi - lo + 1] rows of [head_dim]: key lo + j
  const float* const* v;  // the same for V
  float scale;
};

// Writes out[i] for every row. scratch: reused between calls.
void attend_rows(const AttentionRows& rows, std::vector<F4>& scratch);

}  // namespace pdserve::backend::cpu
