#include "engine/spec/rejection_sampler.h"

#include <algorithm>

namespace pdserve::spec {
namespace {

constexpr uint64_t kAcceptanceStream = 0x5bd1e9955bd1e995ull;

}  // namespace

double acceptance_draw(uint64_t seed, uint64_t index) {
  return runner::uniform_draw(seed ^ kAcceptanceStream, index);
}

std::vector<runner::SampledToken> verify(std::span<float> rows, int vocab_size,
                                         const Proposal& proposal, int num_drafts,
                                         const runner::SamplingContext& ctx) {
  const auto vocab = static_cast<size_t>(vocab_size);
  std::vector<int32_t> outputs(ctx.output_ids.begin(), ctx.output_ids.end());
  runner::SamplingContext here = ctx;
  std::vector<runner::SampledToken> emitted;
  std::vector<float> raw;
  for (int i = 0; i <= num_drafts; ++i) {
    std::span<float> row = rows.subspan(static_cast<size_t>(i) * vocab, vocab);
    if (ctx.params->num_logprobs >= 0) raw.assign(row.begin(), row.end());
    here.output_ids = outputs;
    std::vector<double> p = runner::sampling_probs(row, here);
    const uint64_t index = outputs.size();
    runner::SampledToken token;
    bool rejected = false;
    if (i == num_drafts) {  // every proposal accepted: one more from p
      token.token_id = runner::draw_from(p, runner::uniform_draw(ctx.seed, index));
    } else {
      const int32_t t = proposal.token_ids[static_cast<size_t>(i)];
      const bool point_mass = proposal.probs.empty();
      const double q = point_mass ? 1.0 : proposal.probs[static_cast<size_t>(i)][t];
      const double pt = p[static_cast<size_t>(t)];
      const bool accept = pt >= q || acceptance_draw(ctx.seed, index) * q < pt;
      if (accept) {
        token.token_id = t;
      } else {
        rejected = true;
        double mass = 0.0;
        for (size_t v = 0; v < vocab; ++v) {
          const double qv = point_mass ? (v == static_cast<size_t>(t) ? 1.0 : 0.0)
                                       : proposal.probs[static_cast<size_t>(i)][v];
          p[v] = std::max(0.0, p[v] - qv);
          mass += p[v];
        }
        // p <= q everywhere with p != q cannot happen (both sum to 1); a
        // rounding residue of zero mass falls back to the argmax of p.
        token.token_id =
            mass > 0.0 ? runner::draw_from(p, runner::uniform_draw(ctx.seed, index))
                       : static_cast<int32_t>(std::max_element(p.begin(), p.end()) - p.begin());
      }
    }
    runner::fill_logprobs(raw, ctx.params->num_logprobs, &token);
    outputs.push_back(token.token_id);
    emitted.push_back(std::move(token));
    if (rejected) break;
  }
  return emitted;
}

}  // namespace pdserve::spec
