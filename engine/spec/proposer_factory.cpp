#include "engine/spec/proposer_factory.h"

#include <algorithm>

#include "engine/spec/draft_model_proposer.h"
#include "engine/spec/ngram_proposer.h"

namespace pdserve::spec {

Result<std::unique_ptr<SpecDecodeRunner>> create_spec_runner(
    const SpeculativeConfig& config, runner::LlmRunner* target,
    std::unique_ptr<backend::Backend> draft_backend, int max_graph_batch) {
  std::unique_ptr<Proposer> proposer;
  if (config.method == SpecMethod::kNgram) {
    proposer = std::make_unique<NgramProposer>(config.prompt_lookup_min, config.prompt_lookup_max);
  } else {
    if (!draft_backend) return invalid_argument("draft model: no backend to run it on");
    runner::LlmRunnerOptions options;
    options.block_size = target->block_size();
    options.num_blocks = target->num_blocks();
    options.max_model_len = target->max_model_len();
    auto draft = runner::LlmRunner::load(config.model, std::move(draft_backend), options);
    if (!draft.ok()) return draft.status().with_context("draft model " + config.model);
    // Drafting stops once disable_by_batch_size requests are enqueued.
    const int graph_batch = std::min(max_graph_batch, config.disable_by_batch_size - 1);
    if (graph_batch > 0) (*draft)->use_decode_graphs(graph_batch);
    PD_ASSIGN_OR_RETURN(proposer, DraftModelProposer::create(std::move(draft).value(), *target));
  }
  return std::make_unique<SpecDecodeRunner>(target, std::move(proposer));
}

void apply_to_scheduler(const SpeculativeConfig& config, scheduler::SchedulerConfig* scheduler) {
  scheduler->num_speculative_tokens = config.num_speculative_tokens;
  scheduler->speculative_disable_batch_size = config.disable_by_batch_size;
}

}  // namespace pdserve::spec
