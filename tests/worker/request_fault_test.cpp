// PDSERVE_REQUEST_FAULT: parsed strictly, and the fault throws exactly once,
// at the n-th request.
#include "worker/request_fault.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pdserve::worker {
namespace {

TEST(RequestFault, ParsesACountOfOneOrMore) {
  EXPECT_EQ(parse_request_fault("3").value(), 3);
  for (const char* bad : {"0", "-1", "x", "2x", ""}) {
    Result<int64_t> r = parse_request_fault(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("PDSERVE_REQUEST_FAULT"), std::string::npos);
  }
}

TEST(RequestFault, ThrowsAtTheNthCallOnly) {
  RequestFault fault(2);
  EXPECT_NO_THROW(fault.maybe_throw());
  EXPECT_THROW(fault.maybe_throw(), std::runtime_error);
  EXPECT_NO_THROW(fault.maybe_throw());
  RequestFault off(0);
  for (int i = 0; i < 3; ++i) EXPECT_NO_THROW(off.maybe_throw());
}

}  // namespace
}  // namespace pdserve::worker
