// PDSERVE_REQUEST_FAULT / PDSERVE_ROUTER_FAULT: parsed strictly, and the
// fault throws exactly once, at the n-th request.
#include "common/base/request_fault.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pdserve {
namespace {

TEST(RequestFault, ParsesACountOfOneOrMore) {
  EXPECT_EQ(parse_request_fault(kRouterFaultEnv, "3").value(), 3);
  for (const char* bad : {"0", "-1", "x", "2x", ""}) {
    Result<int64_t> r = parse_request_fault(kRouterFaultEnv, bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("PDSERVE_ROUTER_FAULT"), std::string::npos);
  }
}

TEST(RequestFault, ThrowsAtTheNthCallOnly) {
  RequestFault fault(2, kWorkerFaultEnv);
  EXPECT_NO_THROW(fault.maybe_throw());
  try {
    fault.maybe_throw();
    ADD_FAILURE() << "the second call did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "injected request fault (PDSERVE_REQUEST_FAULT)");
  }
  EXPECT_NO_THROW(fault.maybe_throw());
  RequestFault off(0, kWorkerFaultEnv);
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(off.maybe_throw());
}

}  // namespace
}  // namespace pdserve
