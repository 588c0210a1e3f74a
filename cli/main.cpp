// pdserve: one binary, one subcommand per job.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/bench_engine_command.h"
#include "cli/bench_offline_command.h"
#include "cli/bench_router_command.h"
#include "cli/bench_serve_command.h"
#include "cli/generate_command.h"
#include "cli/router_command.h"
#include "cli/serve_command.h"
#include "cli/worker_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"pdserve: serve large language models, prefill and decode disaggregated"};
  app.require_subcommand(1);
  pdserve::cli::add_generate_command(app);
  CLI::App* bench = app.add_subcommand("bench", "benchmarks");
  bench->require_subcommand(1);
  pdserve::cli::add_bench_offline_command(*bench);
  pdserve::cli::add_bench_engine_command(*bench);
  pdserve::cli::add_bench_serve_command(*bench);
  pdserve::cli::add_bench_router_command(*bench);
  pdserve::cli::add_worker_commands(app);
  pdserve::cli::add_router_command(app);
  pdserve::cli::add_serve_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pdserve: %s (see --help)\n", e.what());
    return e.get_exit_code() ? e.get_exit_code() : 2;
  }
  return 0;
}
