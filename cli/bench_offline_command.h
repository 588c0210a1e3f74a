// `pdserve bench offline`: engine throughput without HTTP, on random prompts
// of given lengths (vLLM's benchmark_throughput shape).
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

// Adds `offline` under the given `bench` subcommand.
void add_bench_offline_command(CLI::App& bench);

}  // namespace pdserve::cli
