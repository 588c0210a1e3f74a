// `pdserve bench router`: the router alone at load. Starts `pdserve router`
// (or targets a running one), registers a replay upstream with it as its
// decode worker, drives concurrent clients through every scenario and
// reports the router's CPU per relayed token, tokens per router core-second,
// the latency it adds per chunk, and the memory of idle connections. The
// work is in bench/ (replay_upstream, router_load, router_report); this file
// is the flags and the router process.
#pragma once

namespace CLI {
class App;
}

namespace pdserve::cli {

// Adds `router` under the given `bench` subcommand.
void add_bench_router_command(CLI::App& bench);

}  // namespace pdserve::cli
