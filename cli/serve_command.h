// `pdserve serve`: the whole cluster on one machine (router, prefill and
// decode workers as child processes), until Ctrl-C or SIGTERM.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_serve_command(CLI::App& app);

}  // namespace pdserve::cli
