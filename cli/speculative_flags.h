// --speculative-config (vLLM's flag, a JSON object; see
// engine/spec/speculative_config.h) for the commands whose engine decodes:
// generate, bench offline and the decode worker.
#pragma once

#include <memory>
#include <string>

#include "cli/runner_flags.h"
#include "common/base/status.h"
#include "engine/engine.h"
#include "engine/spec/spec_decode_runner.h"

namespace CLI {
class App;
}

namespace pdserve::cli {

struct SpeculativeFlags {
  std::string json;  // empty: no speculation
};

void add_speculative_flags(CLI::App& app, SpeculativeFlags& flags);

// Without --speculative-config: null. With it: the speculative runner over
// `target` (a draft model loads on the device --device picks), and its
// scheduler settings written into *config. One-line errors naming the flag.
Result<std::unique_ptr<spec::SpecDecodeRunner>> speculative_runner(const SpeculativeFlags& flags,
                                                                   const RunnerFlags& runner_flags,
                                                                   runner::LlmRunner* target,
                                                                   engine::EngineConfig* config);

// One line for people: drafts, proposed and accepted tokens, the acceptance
// rate (accepted / proposed), the mean accepted length (accepted / drafts)
// and the acceptance rate at each position.
std::string spec_decode_summary(const scheduler::SpecDecodeStats& stats);
// The same as a JSON object.
std::string spec_decode_json(const scheduler::SpecDecodeStats& stats);

}  // namespace pdserve::cli
