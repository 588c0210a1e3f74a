// Builds the runner of speculative decoding from a SpeculativeConfig: the
// proposer (loading the draft model onto `draft_backend` for draft_model)
// over the target runner, and the scheduler settings that go with it.
#pragma once

#include <memory>

#include "engine/backend/backend.h"
#include "engine/runner/llm_runner.h"
#include "engine/scheduler/scheduler_config.h"
#include "engine/spec/spec_decode_runner.h"
#include "engine/spec/speculative_config.h"

namespace pdserve::spec {

// `target` must outlive the result. draft_backend: used for draft_model
// only (may be null otherwise). The draft model's one-token steps replay
// CUDA graphs (LlmRunner::use_decode_graphs) of up to max_graph_batch
// sequences, fewer when the adaptive cut stops speculation earlier; 0 (and
// the CPU): eager. kInvalidArgument for a draft that cannot load or does not
// match the target (the message names the draft).
Result<std::unique_ptr<SpecDecodeRunner>> create_spec_runner(
    const SpeculativeConfig& config, runner::LlmRunner* target,
    std::unique_ptr<backend::Backend> draft_backend, int max_graph_batch);

// Sets num_speculative_tokens and the adaptive cut.
void apply_to_scheduler(const SpeculativeConfig& config, scheduler::SchedulerConfig* scheduler);

}  // namespace pdserve::spec
