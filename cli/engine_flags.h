// Command-line flags of the engine's scheduler (vLLM's names).
#pragma once

#include <string>

#include "common/base/status.h"
#include "engine/engine.h"

namespace CLI {
class App;
}

namespace pdserve::cli {

struct EngineFlags {
  engine::EngineConfig config;
  std::string preemption_mode = "recompute";
  bool no_prefix_caching = false;
};

void add_engine_flags(CLI::App& app, EngineFlags& flags);
Result<engine::EngineConfig> engine_config(const EngineFlags& flags);

}  // namespace pdserve::cli
