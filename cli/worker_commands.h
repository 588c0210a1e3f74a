// `pdserve prefill` and `pdserve decode`: one worker process each, serving
// the internal API on --host:--port until SIGINT or SIGTERM.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_worker_commands(CLI::App& app);

}  // namespace pdserve::cli
