// One logits row's sampling parameters as a backend reads them
// (Backend::sample_rows), and the arithmetic every backend shares so that
// the CPU and the GPU process a row bit for bit alike: the penalties, the
// greedy threshold and the counter-based draws. Plain C++ that nvcc also
// compiles (PD_HOST_DEVICE): no std library beyond <cstdint>.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define PD_HOST_DEVICE __host__ __device__
#else
#define PD_HOST_DEVICE
#endif

namespace pdserve::backend {

// Temperatures up to this are greedy (argmax after masks and penalties).
inline constexpr float kGreedyTemperature = 1e-5f;

struct SamplingRow {
  float temperature = 0.0f;         // <= kGreedyTemperature: greedy
  int32_t top_k = 0;                // <= 0: off
  float top_p = 1.0f;               // 1: off
  float min_p = 0.0f;               // 0: off
  float repetition_penalty = 1.0f;  // over tokens of the prompt or the output
  float presence_penalty = 0.0f;    // over tokens of the output
  float frequency_penalty = 0.0f;   // times each token's count in the output
  int32_t history_slot = -1;        // the row's penalty history (SamplingBatch); -1: none
  int32_t allowed_row = -1;         // its allowed-token mask (SamplingBatch); -1: all allowed
  int32_t num_logprobs = -1;        // -1: none; N >= 0: the sampled token's and the top N
  uint64_t seed = 0;                // the sequence's draws ...
  uint64_t draw_index = 0;          // ... and this one's index (tokens generated so far)
};
static_assert(sizeof(SamplingRow) % 4 == 0);
// A row as i32 words (the params tensor of SamplingBatch).
inline constexpr int kSamplingRowWords = static_cast<int>(sizeof(SamplingRow) / 4);

// 32-bit words of an allowed-token mask or a prompt bitmask over `vocab`
// tokens: token t is bit t % 32 of word t / 32.
PD_HOST_DEVICE inline int64_t mask_words(int64_t vocab) {
  return (vocab + 31) / 32;
}

PD_HOST_DEVICE inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform double in [0, 1) for draw `index` of a sequence seeded with seed:
// a hash of (seed, index), so a draw depends on nothing else (not the
// batch, not the device).
PD_HOST_DEVICE inline double uniform_draw(uint64_t seed, uint64_t index) {
  const uint64_t bits = splitmix64(splitmix64(seed) ^ (index * 0xd1b54a32d192ed03ull));
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

// A logit after the penalties: the repetition penalty (Hugging Face: divide
// a positive logit, multiply a negative one) when the token was `seen` in
// the prompt or the output, then minus frequency * count + presence when it
// was generated `count` > 0 times. No fused multiply-add, on either side.
PD_HOST_DEVICE inline float penalized(float logit, bool seen, int32_t count, const SamplingRow& p) {
#if defined(__CUDA_ARCH__)
  if (seen && p.repetition_penalty != 1.0f)
    logit =
        logit > 0 ? __fdiv_rn(logit, p.repetition_penalty) : __fmul_rn(logit, p.repetition_penalty);
  if (count > 0)
    logit = __fsub_rn(logit, __fadd_rn(__fmul_rn(p.frequency_penalty, static_cast<float>(count)),
                                       p.presence_penalty));
#else
  if (seen && p.repetition_penalty != 1.0f)
    logit = logit > 0 ? logit / p.repetition_penalty : logit * p.repetition_penalty;
  if (count > 0) logit -= p.frequency_penalty * static_cast<float>(count) + p.presence_penalty;
#endif
  return logit;
}

// Whether a row changes logits through a penalty (and so needs a history).
PD_HOST_DEVICE inline bool has_penalties(const SamplingRow& p) {
  return p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f;
}

}  // namespace pdserve::backend
