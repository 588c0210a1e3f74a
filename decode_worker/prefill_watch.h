// Liveness of the prefill workers a decode worker waits on. The prefill
// answer is one HTTP response that may take seconds of compute, so silence
// on it says nothing; instead, while at least one remote prefill to a worker
// is in flight, that worker is probed (GET /health, answered by its io
// threads, never behind its engine) every `interval`. A worker that leaves a
// probe unanswered for `stall_timeout` (stopped, deadlocked) or refuses it
// (dead) is stalled: every watch on it fires at once, long before the
// prefill deadline (--prefill-timeout-ms), and the decode worker falls back.
//
//   watch(host, port, on_stall) ──▶ finish(id) == true   (the answer came first)
//                               └─▶ on_stall(why), then finish(id) == false
//
// Exactly one of the two wins for each watch. on_stall runs on the watch's
// client thread, without the watch's lock. Thread-safe; the destructor
// stops probing and fires nothing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "common/base/status.h"
#include "common/server/http_client.h"

namespace pdserve::decode {

class PrefillWatch {
 public:
  using OnStall = std::function<void(const Status& why)>;

  PrefillWatch(std::chrono::milliseconds interval, std::chrono::milliseconds stall_timeout);
  ~PrefillWatch();
  PrefillWatch(const PrefillWatch&) = delete;
  PrefillWatch& operator=(const PrefillWatch&) = delete;

  uint64_t watch(const std::string& host, uint16_t port, OnStall on_stall);
  // Ends a watch; false when it had fired already (its answer is to be ignored).
  bool finish(uint64_t id);

 private:
  struct Target {
    std::string host;
    uint16_t port = 0;
    std::map<uint64_t, OnStall> watches;
    bool probing = false;
  };
  void run();
  void probe(const std::string& key, Target& target);  // under mu_
  void on_probe(const std::string& key, const Result<server::ClientResponse>& answer);

  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::map<std::string, Target> targets_;   // "host:port"
  std::map<uint64_t, std::string> owners_;  // watch id -> target key
  server::HttpClient client_;               // destroyed before the state above
  std::thread thread_;                      // last
};

}  // namespace pdserve::decode
