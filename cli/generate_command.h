// `pdserve generate`: offline generation from the command line.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

void add_generate_command(CLI::App& app);

}  // namespace pdserve::cli
