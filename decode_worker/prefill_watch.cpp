#include "decode_worker/prefill_watch.h"

#include <vector>

namespace pdserve::decode {
namespace {

server::ClientOptions probe_options(std::chrono::milliseconds stall_timeout) {
  server::ClientOptions o;
  o.connect_timeout = stall_timeout;
  o.read_timeout = stall_timeout;
  o.write_timeout = stall_timeout;
  return o;
}

}  // namespace

PrefillWatch::PrefillWatch(std::chrono::milliseconds interval,
                           std::chrono::milliseconds stall_timeout)
    : interval_(interval), client_(probe_options(stall_timeout)), thread_([this] { run(); }) {}

PrefillWatch::~PrefillWatch() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

uint64_t PrefillWatch::watch(const std::string& host, uint16_t port, OnStall on_stall) {
  std::lock_guard lock(mu_);
  const std::string key = host + ":" + std::to_string(port);
  Target& t = targets_[key];
  t.host = host;
  t.port = port;
  const uint64_t id = next_id_++;
  t.watches[id] = std::move(on_stall);
  owners_[id] = key;
  return id;
}

bool PrefillWatch::finish(uint64_t id) {
  std::lock_guard lock(mu_);
  auto owner = owners_.find(id);
  if (owner == owners_.end()) return false;
  auto t = targets_.find(owner->second);
  t->second.watches.erase(id);
  if (t->second.watches.empty() && !t->second.probing) targets_.erase(t);
  owners_.erase(owner);
  return true;
}

void PrefillWatch::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    for (auto& [key, target] : targets_) {
      if (!target.probing && !target.watches.empty()) probe(key, target);
    }
  }
}

void PrefillWatch::probe(const std::string& key, Target& target) {
  target.probing = true;
  client_.send_async(server::ClientRequest::get(target.host, target.port, "/health"),
                     [this, key](Result<server::ClientResponse> answer) { on_probe(key, answer); });
}

void PrefillWatch::on_probe(const std::string& key, const Result<server::ClientResponse>& answer) {
  std::vector<OnStall> fired;
  Status why;
  {
    std::lock_guard lock(mu_);
    auto t = targets_.find(key);
    if (t == targets_.end()) return;
    t->second.probing = false;
    if (!answer.ok() && !stopping_) {  // any HTTP answer shows the worker alive
      why = unavailable("prefill worker " + key + " stalled: its health probe failed (" +
                        answer.status().message() + ")");
      for (auto& [id, on_stall] : t->second.watches) {
        fired.push_back(std::move(on_stall));
        owners_.erase(id);
      }
      t->second.watches.clear();
    }
    if (t->second.watches.empty()) targets_.erase(t);
  }
  for (OnStall& f : fired) f(why);
}

}  // namespace pdserve::decode
