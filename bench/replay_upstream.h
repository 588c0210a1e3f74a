// The upstream of `pdserve bench router`: a small server that speaks the
// decode worker's side of the internal API (POST /internal/v1/generate as an
// SSE stream of GenerateEvents, GET /internal/v1/state) and replays a fixed
// sequence of real token ids instead of running a model. It is the router
// benchmark's load generator, never a stand-in inside a behaviour test.
//
// Pacing is a decode step: every `step_interval` one event with one token
// (and its logprobs when asked) goes to every open stream, as a decode
// worker's batch step does; a stream's last event carries finish_reason
// "length" after max_tokens tokens, then [DONE]. With num_step_groups N the
// streams take turns in N groups spread evenly over the step (as N decode
// workers whose steps are out of phase); 1: all of them at once.
//
// The pacing thread writes each event to its socket itself
// (ServerOptions::producer_sends), and the time just before that write is
// recorded per request id: the moment the event goes to the router's socket,
// so that the client side can tell how long the router took to relay it
// (send_times()).
//
//   ReplayUpstream up = *ReplayUpstream::start({ids, 20ms, token, "pdserve-demo"});
//   register up.port() with the router as a decode worker; drive clients;
//   up->send_times("req-0") ...
//
// Thread-safety: every method from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace pdserve::bench {

struct ReplayOptions {
  std::vector<int32_t> token_ids;  // replayed in order, from the start again when used up
  std::chrono::microseconds step_interval{20'000};
  int num_step_groups = 1;  // see above
  std::string cluster_token;
  std::string model;
};

class ReplayUpstream {
 public:
  using Clock = std::chrono::steady_clock;

  static Result<std::unique_ptr<ReplayUpstream>> start(ReplayOptions options);
  ~ReplayUpstream();  // stops the pacer and the server

  uint16_t port() const;
  // When each event of the request `request_id` (as the router sent it) was
  // handed to the server, event by event; empty for an unknown id.
  std::vector<Clock::time_point> send_times(const std::string& request_id) const;
  // Connections the router sent generate requests on (distinct peer
  // addresses) since the start or the last clear_records(): a router that
  // pools them uses about one per concurrent stream, not one per request.
  size_t num_generate_connections() const;
  // Forgets every recorded request and connection (between benchmark scenarios).
  void clear_records();

  class Impl;

 private:
  explicit ReplayUpstream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace pdserve::bench
