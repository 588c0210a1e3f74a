// `pdserve router`: the OpenAI-compatible front of a cluster, until SIGINT or SIGTERM.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_router_command(CLI::App& app);

}  // namespace pdserve::cli
