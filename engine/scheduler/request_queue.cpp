#include "engine/scheduler/request_queue.h"

#include "common/base/logging.h"

namespace pdserve::scheduler {

void RequestQueue::push(Request* request) {
  const Key key{request->spec.priority, request->arrival};
  PD_CHECK(!queue_.contains(key)) << "request " << request->id << " queued twice";
  queue_.emplace(key, Entry{request, request->num_tokens()});
  num_tokens_ += request->num_tokens();
}

void RequestQueue::erase(Request* request) {
  auto it = queue_.find({request->spec.priority, request->arrival});
  if (it == queue_.end()) return;
  num_tokens_ -= it->second.num_tokens;
  queue_.erase(it);
}

bool RequestQueue::contains(const Request* request) const {
  return queue_.contains({request->spec.priority, request->arrival});
}

std::vector<Request*> RequestQueue::ordered() const {
  std::vector<Request*> out;
  out.reserve(queue_.size());
  for (const auto& [key, entry] : queue_) out.push_back(entry.request);
  return out;
}

}  // namespace pdserve::scheduler
