// sample_rows on the GPU where its chunked structure could go wrong (a row
// is spread over chunks of 4096 tokens): kept sets that straddle chunks,
// ties at the cut across chunks (kept by id, -0 tied with +0), top_k
// larger than a mask's allowed set, vocabularies not a multiple of the
// chunk, top logprobs tied across chunks. Each against the CPU backend.
#include "tests/engine/backend/cuda_sample_rows_fixture.h"

namespace pdserve::backend {
namespace {

constexpr int64_t kChunk = 4096;  // the kernels' chunk (engine/backend/cuda/sample_rows.h)

// `draws` copies of one row, and the row's params with seeds 0..draws-1.
struct Draws {
  std::vector<float> logits;
  std::vector<SamplingRow> params;
};
Draws copies(const std::vector<float>& row, SamplingRow p, int64_t draws) {
  Draws d;
  d.logits.reserve(row.size() * static_cast<size_t>(draws));
  for (int64_t i = 0; i < draws; ++i) {
    d.logits.insert(d.logits.end(), row.begin(), row.end());
    p.seed = static_cast<uint64_t>(i);
    d.params.push_back(p);
  }
  return d;
}

TEST_F(CudaSampleRowsTest, KeptSetsStraddlingChunksFollowTheCpu) {
  const int64_t vocab = 2 * kChunk + 37, draws = 4000;
  // Mass only near the chunks' edges and in the short last chunk.
  std::vector<float> row(static_cast<size_t>(vocab), -8192.0f);  // no mass
  const std::vector<float> live = logits(1, 48, 1.0f);
  size_t k = 0;
  for (int64_t t : {int64_t{0}, int64_t{1}}) row[static_cast<size_t>(t)] = live[k++];
  for (int64_t t = kChunk - 6; t < kChunk + 6; ++t) row[static_cast<size_t>(t)] = live[k++];
  for (int64_t t = 2 * kChunk - 8; t < 2 * kChunk + 8; ++t) row[static_cast<size_t>(t)] = live[k++];
  for (int64_t t = vocab - 9; t < vocab; ++t) row[static_cast<size_t>(t)] = live[k++];
  std::vector<SamplingRow> variants(5, row_with(1.0f, 0));
  variants[1].top_k = 7;
  variants[2].top_p = 0.6f;
  variants[3].min_p = 0.3f;
  variants[4].temperature = 0.7f;
  variants[4].top_k = 12;
  variants[4].top_p = 0.8f;
  variants[4].min_p = 0.05f;
  for (size_t v = 0; v < variants.size(); ++v) {
    const Draws d = copies(row, variants[v], draws);
    const Sampled g = run(*gpu, d.logits, vocab, d.params);
    expect_follows(cpu_probs(row, vocab, 0, variants[v]), g.ids, "variant " + std::to_string(v));
  }
}

TEST_F(CudaSampleRowsTest, TiesAtTheCutAcrossChunksAreKeptById) {
  // Every token tied but one: top_k 5000 keeps the larger one and the first
  // 4999 ties by id, ids [0, 5000), across the first chunk's end.
  const int64_t vocab = 3 * kChunk, draws = 3000;
  std::vector<float> row(static_cast<size_t>(vocab), 0.5f);
  row[kChunk - 3] = 2.0f;
  SamplingRow p = row_with(1.0f, 0);
  p.top_k = 5000;
  const Draws d = copies(row, p, draws);
  const Sampled g = run(*gpu, d.logits, vocab, d.params);
  expect_follows(cpu_probs(row, vocab, 0, p), g.ids, "top_k 5000 over ties");
  EXPECT_GT(std::count_if(g.ids.begin(), g.ids.end(), [](int32_t t) { return t >= kChunk; }), 0);

  // -0 and +0 are one value: top_p 0.75 of 8192 equal tokens keeps ids
  // [0, 6144) (exact on both sides: the masses are powers of two).
  const int64_t flat_vocab = 2 * kChunk;
  std::vector<float> zeros(static_cast<size_t>(flat_vocab), 0.0f);
  for (size_t t = 0; t < zeros.size(); t += 3) zeros[t] = -0.0f;
  SamplingRow q = row_with(1.0f, 0);
  q.top_p = 0.75f;
  const Draws z = copies(zeros, q, draws);
  const Sampled gz = run(*gpu, z.logits, flat_vocab, z.params);
  expect_follows(cpu_probs(zeros, flat_vocab, 0, q), gz.ids, "top_p 0.75 over signed zeros");
}

TEST_F(CudaSampleRowsTest, TopKLargerThanTheAllowedSetDrawsOnlyAllowedTokens) {
  const int64_t vocab = kChunk + 500, draws = 4000, words = mask_words(vocab);
  const std::vector<float> row = logits(1, vocab, 1.0f);
  std::vector<uint32_t> mask(static_cast<size_t>(words), 0);
  std::vector<float> masked(static_cast<size_t>(vocab), -std::numeric_limits<float>::infinity());
  for (int64_t t : {int64_t{3}, kChunk - 1, kChunk, kChunk + 104, kChunk + 404, vocab - 1}) {
    mask[static_cast<size_t>(t / 32)] |= 1u << (t % 32);
    masked[static_cast<size_t>(t)] = row[static_cast<size_t>(t)];
  }
  std::vector<SamplingRow> variants(3, row_with(1.0f, 0));
  variants[0].top_k = 50;
  variants[1].top_k = 50;
  variants[1].top_p = 0.9f;
  variants[2].min_p = 0.01f;
  for (size_t v = 0; v < variants.size(); ++v) {
    variants[v].allowed_row = 0;
    const Draws d = copies(row, variants[v], draws);
    const Sampled g = run(*gpu, d.logits, vocab, d.params, nullptr, mask);
    SamplingRow unmasked = variants[v];
    unmasked.allowed_row = -1;
    expect_follows(cpu_probs(masked, vocab, 0, unmasked), g.ids, "variant " + std::to_string(v));
  }
}

TEST_F(CudaSampleRowsTest, VocabulariesNotAMultipleOfTheChunk) {
  for (int64_t vocab : {int64_t{37}, kChunk + 1, 3 * kChunk - 1}) {
    std::vector<float> x = logits(4, vocab, 2.0f);
    for (int64_t r = 0; r < 4; ++r) {  // the max in the last chunk, a tie across chunks second
      float* row = x.data() + r * vocab;
      row[vocab - 1] = 20.0f;
      row[2] = row[vocab - 2] = 19.0f;
    }
    std::vector<SamplingRow> params(4, row_with(0.0f, 0));
    params[1] = row_with(1.0f, 11);
    params[1].top_k = 1;
    params[2] = row_with(0.8f, 12);
    params[2].top_k = 3;
    params[3] = row_with(1.0f, 13);
    for (SamplingRow& p : params) p.num_logprobs = 6;
    const Sampled c = run(*cpu, x, vocab, params, nullptr, {}, 6);
    const Sampled g = run(*gpu, x, vocab, params, nullptr, {}, 6);
    EXPECT_EQ(g.ids[0], vocab - 1) << "vocab " << vocab;
    EXPECT_EQ(g.ids[1], vocab - 1) << "vocab " << vocab;
    EXPECT_TRUE(g.ids[2] == vocab - 1 || g.ids[2] == 2 || g.ids[2] == vocab - 2)
        << "vocab " << vocab << ": " << g.ids[2];
    EXPECT_EQ(g.top_ids, c.top_ids) << "vocab " << vocab;  // ties by id, across chunks
    for (size_t i = 0; i < g.top_logprobs.size(); ++i)
      EXPECT_NEAR(g.top_logprobs[i], c.top_logprobs[i], 1e-3) << "vocab " << vocab;
    for (size_t r = 0; r < 4; ++r) {
      std::vector<float> lsm;
      cpu::log_softmax(std::span<const float>(x.data() + r * vocab, vocab), lsm);
      EXPECT_NEAR(g.logprobs[r], lsm[static_cast<size_t>(g.ids[r])], 1e-3) << "vocab " << vocab;
    }
  }
}

}  // namespace
}  // namespace pdserve::backend
