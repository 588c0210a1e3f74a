// The floors' arithmetic on a small shape, by hand.
#include "engine/runner/model_cost.h"

#include <gtest/gtest.h>

namespace pdserve::runner {
namespace {

model::ModelConfig shape(bool tied) {
  model::ModelConfig c;
  c.vocab_size = 100;
  c.hidden_size = 8;
  c.intermediate_size = 16;
  c.num_layers = 2;
  c.num_heads = 4;
  c.num_kv_heads = 2;
  c.head_dim = 2;
  c.tie_word_embeddings = tied;
  return c;
}

// Per layer: qkv 8*(8+4+4) = 128, o 8*8 = 64, gate-up-down 3*8*16 = 384:
// 576, so 1152 for two layers; the LM head is 100*8 = 800 parameters.
TEST(ModelCostTest, PrefillCountsTheLmHeadOnceAndCausalAttentionAsHalf) {
  const ModelCost cost(shape(true), 10000, 2, 2);
  // 10 tokens: 2*1152*10 + 2*800 + 4*(2*8)*(10*10/2) = 23040 + 1600 + 3200.
  EXPECT_DOUBLE_EQ(cost.prefill_flops(10), 27840);
  // After 6 cached tokens the 10 new ones also see those: keys 10*6 + 50.
  EXPECT_DOUBLE_EQ(cost.prefill_flops(10, 6), 23040 + 1600 + 4 * 16 * 110.0);
  // One token at context 5: every parameter twice, QK^T and PV over 5 keys.
  EXPECT_DOUBLE_EQ(cost.decode_token_flops(5), 2 * (1152 + 800) + 4 * 16 * 5.0);
}

TEST(ModelCostTest, DecodeReadsTheWeightsOnceAndEachSequencesKv) {
  // KV per token: 2 (K,V) * 2 layers * 4 (kv heads * head_dim) * 2 bytes = 32.
  const ModelCost tied(shape(true), 10000, 2, 2);
  EXPECT_DOUBLE_EQ(tied.kv_bytes_per_token(), 32);
  // batch 3 at context 7: weights + 3 * (one embedding row of 16 bytes + 7 * 32).
  EXPECT_DOUBLE_EQ(tied.decode_step_bytes(3, 7), 10000 + 3 * (16 + 224.0));
  // An untied model's embedding table (1600 bytes) is not read in full.
  const ModelCost untied(shape(false), 11600, 2, 2);
  EXPECT_DOUBLE_EQ(untied.step_weight_bytes(), 10000);
  EXPECT_DOUBLE_EQ(untied.embedding_row_bytes(), 16);
}

}  // namespace
}  // namespace pdserve::runner
