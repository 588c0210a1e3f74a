// `pdserve bench engine`: the model runner's speed on one device, beside the
// physical floor measured in the same run (copy bandwidth, bf16 GEMM rate):
// batch-1 decode per token, a batch decode step at a long context, and a
// long prefill.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_bench_engine_command(CLI::App& bench);

}  // namespace pdserve::cli
