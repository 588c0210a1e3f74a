#include "common/server/routes.h"

#include <gtest/gtest.h>

namespace pdserve::server {
namespace {

Handler tagged(std::string tag, std::string* called) {
  return [tag, called](Request, std::shared_ptr<ResponseWriter>) { *called = tag; };
}

TEST(Routes, ExactBeatsPrefixAndLongestPrefixWins) {
  Routes routes;
  std::string called;
  routes.add_prefix("GET", "/v1/", tagged("v1-prefix", &called));
  routes.add_prefix("GET", "/v1/models/", tagged("models-prefix", &called));
  routes.add("GET", "/v1/models", tagged("models", &called));

  auto m = routes.resolve("GET", "/v1/models");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(Request(), nullptr);
  EXPECT_EQ(called, "models");

  m = routes.resolve("GET", "/v1/models/llama");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(Request(), nullptr);
  EXPECT_EQ(called, "models-prefix");

  m = routes.resolve("GET", "/v1/completions");
  ASSERT_NE(m.handler, nullptr);
  (*m.handler)(Request(), nullptr);
  EXPECT_EQ(called, "v1-prefix");
}

TEST(Routes, MissingIs404AndOtherMethodIs405WithAllow) {
  Routes routes;
  std::string called;
  routes.add("GET", "/health", tagged("get", &called));
  routes.add("POST", "/health", tagged("post", &called));
  routes.add("GET", "/sync", [](const Request&) { return Response::text(200, "x"); });

  EXPECT_EQ(routes.resolve("GET", "/nothing").status, 404);
  auto m = routes.resolve("DELETE", "/health");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, POST");
  EXPECT_EQ(routes.resolve("GET", "/sync").status, 200);
}

}  // namespace
}  // namespace pdserve::server
