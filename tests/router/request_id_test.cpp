#include "router/request_id.h"

#include <gtest/gtest.h>

#include <string>

namespace pdserve::router {
namespace {

ApiResult<std::string> id_of(const char* sent) {
  server::Headers h;
  if (sent != nullptr) h.set("x-request-id", sent);  // header names are case-insensitive
  return request_id(h, [] { return std::string("made-here"); });
}

TEST(RequestIdTest, TheClientsIdWhenUsable) {
  ASSERT_TRUE(id_of("trace-42.a_b:c").ok());
  EXPECT_EQ(id_of("trace-42.a_b:c").value(), "trace-42.a_b:c");
  EXPECT_EQ(id_of(std::string(kMaxRequestIdLength, 'x').c_str()).value(),
            std::string(kMaxRequestIdLength, 'x'));
}

TEST(RequestIdTest, MadeWhenTheClientSentNone) {
  EXPECT_EQ(id_of(nullptr).value(), "made-here");
}

TEST(RequestIdTest, UnusableIdsAre400sNamingTheHeader) {
  for (const std::string& bad : {std::string(""), std::string(kMaxRequestIdLength + 1, 'x'),
                                 std::string("a b"), std::string("a/b"), std::string("é")}) {
    ApiResult<std::string> r = id_of(bad.c_str());
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_EQ(r.error().param, "X-Request-Id");
  }
}

}  // namespace
}  // namespace pdserve::router
