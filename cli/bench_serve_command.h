// `pdserve bench serve`: the serving benchmark against any OpenAI-compatible
// server (vLLM's benchmark_serving / SGLang's bench_serving shape and
// metrics). The work is in bench/; this file is the flags.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

// Adds `serve` under the given `bench` subcommand.
void add_bench_serve_command(CLI::App& bench);

}  // namespace pdserve::cli
