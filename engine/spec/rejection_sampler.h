// Verification of proposed tokens, keeping the target distribution exactly
// (Leviathan et al., Chen et al.): with p the distribution the sampler would
// draw from at a position (sampling_probs: min_tokens, penalties,
// temperature, min_p, top_k, top_p, all over the outputs so far including
// the accepted proposals) and q the one the proposal was drawn from, the
// proposal t is accepted with probability min(1, p(t) / q(t)); on the first
// rejection a token is drawn from max(0, p - q) normalised and the rest is
// dropped; when all are accepted one more token is drawn from p at the next
// position. With a point-mass q (n-gram, a greedy draft) the residual is p
// without t; greedy reduces to exact match with the argmax.
//
// Draws are seeded like the sampler's: the token emitted as output k uses
// uniform_draw(seed, k) (a residual or the bonus draw), the acceptance test
// of output k uses a second stream, so a seeded request repeats exactly.
// Logprobs (num_logprobs) are the target's raw ones, as without speculation.
#pragma once

#include <span>
#include <vector>

#include "engine/runner/sampler.h"
#include "engine/spec/proposer.h"

namespace pdserve::spec {

// rows: [num_drafts + 1, vocab] raw target logits (consumed), row i predicting
// the token after draft i - 1 (row 0: after the last known token). drafts:
// the first num_drafts tokens of `proposal`. Returns 1 to num_drafts + 1
// tokens (seq_id unset).
std::vector<runner::SampledToken> verify(std::span<float> rows, int vocab_size,
                                         const Proposal& proposal, int num_drafts,
                                         const runner::SamplingContext& ctx);

// The acceptance stream's uniform for output `index` of a sequence.
double acceptance_draw(uint64_t seed, uint64_t index);

}  // namespace pdserve::spec
