// The client side of `pdserve bench router`: `num_streams` concurrent
// clients, each sending one request after the other to the router for
// `duration` (closed loop), reading every answer, and checking that the text
// relayed is the text the replay upstream's tokens decode to.
//
// A scenario is one of: completions or chat, streaming or not, with or
// without stop strings (that never match, so every token is still checked
// against them) and logprobs (top 5). Each request carries an X-Request-Id,
// so the router's request to the upstream is "<id>-0" and the upstream's
// send times can be matched to what the client received:
//
//   streaming:      a content chunk whose text ends at byte B of the whole
//                   text was caused by the event of the first token whose
//                   text reaches B; latency = received - that event's send
//   non-streaming:  latency = response received - last event's send
//
// "direct/stream/plain" leaves the router out: the clients send the
// upstream's own generate requests (request id "<id>-0") and read its events
// as they come, one token each. Its latency (event written → event read by a
// client) is what the benchmark itself adds on this machine under this load:
// the loopback and the clients' own lag. The router's added latency is a
// scenario's latency beyond it.
//
// Thread-safety: run_router_load blocks; call it from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/base_url.h"
#include "bench/replay_upstream.h"

namespace pdserve::bench {

struct RouterScenario {
  bool direct = false;  // no router: the clients read the upstream (stream, plain)
  bool chat = false;
  bool stream = true;
  bool stop = false;
  bool logprobs = false;

  std::string name() const;  // "completions/stream/stop", "direct/stream/plain"
};

// Every combination the benchmark runs: direct/stream/plain first, then
// {completions, chat} x {stream, non-stream} x {plain, stop strings, logprobs}.
std::vector<RouterScenario> all_router_scenarios();

struct RouterLoadOptions {
  BaseUrl router;
  std::string model;
  int num_streams = 100;
  std::chrono::milliseconds duration{5'000};
  int output_len = 64;
  std::vector<int32_t> prompt_ids;  // completions
  std::string prompt_text;          // chat: the user message
  // expected_bytes[k]: bytes of the relayed text once token k arrived (the
  // upstream's tokens, decoded incrementally); output_len entries.
  std::vector<size_t> expected_bytes;
  const ReplayUpstream* upstream = nullptr;
  std::string cluster_token;  // the upstream's (direct/stream/plain)
};

struct RouterLoadResult {
  int num_requests = 0;  // finished (started before the end of the duration)
  int num_failed = 0;
  std::vector<std::string> errors;  // the first few
  int64_t num_tokens = 0;           // completion tokens of successful requests
  int64_t num_chunks = 0;           // content chunks received (streaming)
  double wall_s = 0;                // first send to last answer
  std::vector<double> latency_us;   // see above
};

RouterLoadResult run_router_load(const RouterScenario& scenario, const RouterLoadOptions& options);

}  // namespace pdserve::bench
