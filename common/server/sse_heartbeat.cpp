#include "common/server/sse_heartbeat.h"

namespace pdserve::server {

SseHeartbeat::SseHeartbeat(std::chrono::milliseconds interval)
    : interval_(interval), thread_([this] { run(); }) {}

SseHeartbeat::~SseHeartbeat() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

void SseHeartbeat::add(const std::shared_ptr<SseWriter>& stream) {
  std::lock_guard lock(mu_);
  streams_.push_back(stream);
}

size_t SseHeartbeat::size() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

void SseHeartbeat::run() {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, interval_, [&] { return stopping_; })) {
    std::vector<std::shared_ptr<SseWriter>> live;
    std::erase_if(streams_, [&](const std::weak_ptr<SseWriter>& w) {
      std::shared_ptr<SseWriter> s = w.lock();
      if (!s || s->is_closed()) return true;
      live.push_back(std::move(s));
      return false;
    });
    lock.unlock();  // sending takes the writers' own locks
    for (const auto& s : live) (void)s->send_comment("ping");
    live.clear();
    lock.lock();
  }
}

}  // namespace pdserve::server
