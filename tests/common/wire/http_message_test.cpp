#include "common/wire/http_message.h"

#include <gtest/gtest.h>

#include "common/wire/openai_error.h"

namespace pdserve::server {
namespace {

TEST(HttpMessage, HeadersAreCaseInsensitiveAndOrdered) {
  Headers h;
  h.add("Content-Type", "a");
  h.add("X-Multi", "1");
  h.add("x-multi", "2");
  EXPECT_EQ(h.get("content-type").value_or(""), "a");
  EXPECT_EQ(h.get("X-MULTI").value_or(""), "1");
  EXPECT_FALSE(h.get("missing").has_value());
  h.set("X-MULTI", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-multi").value_or(""), "3");
  h.remove("CONTENT-TYPE");
  EXPECT_FALSE(h.contains("content-type"));
}

TEST(HttpMessage, SplitsTargetsAndDecodesQueries) {
  Request req;
  req.target = "/v1/models?name=a%2Fb+c&flag&bad=%zz";
  split_target(req.target, &req.path, &req.query);
  EXPECT_EQ(req.path, "/v1/models");
  EXPECT_EQ(req.query_param("name").value_or(""), "a/b c");
  EXPECT_EQ(req.query_param("flag").value_or("x"), "");
  EXPECT_EQ(req.query_param("bad").value_or(""), "%zz");
  EXPECT_FALSE(req.query_param("none").has_value());
}

TEST(HttpMessage, OpenAiErrorsHaveTheRightShapeAndStatus) {
  Response r = openai_error(400, "bad \"max_tokens\"", {}, "max_tokens");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"error":{"code":null,"message":"bad \"max_tokens\"","param":"max_tokens",)"
                    R"("type":"invalid_request_error"}})");
  EXPECT_EQ(error_response(unavailable("no decode worker")).status, 503);
  EXPECT_EQ(error_response(resource_exhausted("queue full")).status, 429);
  EXPECT_EQ(error_response(unauthenticated("token")).status, 401);
  EXPECT_EQ(error_response(deadline_exceeded("slow")).status, 504);
  EXPECT_EQ(openai_error_type(503), "server_error");
  // Invalid UTF-8 from a client does not throw.
  EXPECT_NE(openai_error_body("bad \xff byte", "x").find("bad"), std::string::npos);
}

}  // namespace
}  // namespace pdserve::server
