#include "engine/scheduler/request_queue.h"

#include <gtest/gtest.h>

namespace pdserve::scheduler {
namespace {

Request make(uint64_t id, int priority, uint64_t arrival, int prompt_len) {
  RequestSpec spec;
  spec.request_id = id;
  spec.priority = priority;
  spec.prompt_ids.assign(prompt_len, 1);
  return Request(spec, arrival);
}

TEST(RequestQueueTest, ServesByPriorityThenArrivalAndCountsTokens) {
  Request a = make(1, 0, 0, 5), b = make(2, 1, 1, 3), c = make(3, 0, 2, 2), d = make(4, -1, 3, 1);
  RequestQueue q;
  for (Request* r : {&b, &c, &a, &d}) q.push(r);
  std::vector<uint64_t> ids;
  for (Request* r : q.ordered()) ids.push_back(r->id);
  EXPECT_EQ(ids, (std::vector<uint64_t>{4, 1, 3, 2}));
  EXPECT_EQ(q.num_tokens(), 11);
  q.erase(&a);
  EXPECT_FALSE(q.contains(&a));
  EXPECT_EQ(q.size(), 3u);
  EXPECT_EQ(q.num_tokens(), 6);
  q.erase(&a);  // absent: no-op
  EXPECT_EQ(q.num_tokens(), 6);
}

}  // namespace
}  // namespace pdserve::scheduler
