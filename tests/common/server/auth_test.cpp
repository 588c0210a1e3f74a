#include "common/server/auth.h"

#include <gtest/gtest.h>

#include "common/server/http_client.h"
#include "common/server/http_server.h"

namespace pdserve::server {
namespace {

Request with_auth(std::string value) {
  Request r;
  r.headers.set("Authorization", std::move(value));
  return r;
}

TEST(Auth, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("secret", "secret"));
  EXPECT_FALSE(constant_time_equals("secreT", "secret"));
  EXPECT_FALSE(constant_time_equals("secret-longer", "secret"));
  EXPECT_FALSE(constant_time_equals("sec", "secret"));
  EXPECT_FALSE(constant_time_equals("", "secret"));
  EXPECT_FALSE(constant_time_equals("", ""));  // an empty secret never matches
}

TEST(Auth, BearerTokenParsing) {
  EXPECT_EQ(bearer_token(with_auth("Bearer abc")).value_or("?"), "abc");
  EXPECT_EQ(bearer_token(with_auth("bearer   abc ")).value_or("?"), "abc");
  EXPECT_FALSE(bearer_token(with_auth("Basic abc")).has_value());
  EXPECT_FALSE(bearer_token(Request()).has_value());
}

TEST(Auth, ClusterToken) {
  EXPECT_TRUE(check_cluster_token(with_auth("Bearer t0ken"), "t0ken").ok());
  EXPECT_EQ(check_cluster_token(with_auth("Bearer wrong"), "t0ken").code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(check_cluster_token(Request(), "t0ken").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(check_cluster_token(with_auth("Bearer "), "").code(), StatusCode::kUnauthenticated);
}

TEST(Auth, ApiKeys) {
  ApiKeys keys({"sk-one", "sk-two", ""});
  EXPECT_TRUE(keys.check(with_auth("Bearer sk-one")).ok());
  EXPECT_TRUE(keys.check(with_auth("Bearer sk-two")).ok());
  EXPECT_EQ(keys.check(with_auth("Bearer sk-three")).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(keys.check(with_auth("Bearer ")).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(keys.check(Request()).code(), StatusCode::kUnauthenticated);
  ApiKeys open({});
  EXPECT_TRUE(open.empty());
  EXPECT_TRUE(open.check(Request()).ok());
}

TEST(Auth, GuardedHandlersAnswer401) {
  Routes routes;
  auto hello = to_handler([](const Request&) { return Response::text(200, "hello"); });
  routes.add("GET", "/internal/x", hello, {.check = cluster_token_check("cluster-secret")});
  routes.add(
      "GET", "/v1/x", hello,
      {.check = api_key_check(std::make_shared<const ApiKeys>(std::vector<std::string>{"sk-1"}))});
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  uint16_t port = (*server)->port();

  auto denied = client.get("127.0.0.1", port, "/internal/x");
  ASSERT_TRUE(denied.ok());
  EXPECT_EQ(denied->status, 401);
  EXPECT_EQ(denied->headers.get("WWW-Authenticate").value_or(""), "Bearer");
  EXPECT_NE(denied->body.find("authentication_error"), std::string::npos) << denied->body;

  ClientRequest internal = ClientRequest::get("127.0.0.1", port, "/internal/x");
  internal.headers.set("Authorization", "Bearer cluster-secret");
  EXPECT_EQ(client.send(internal)->status, 200);

  ClientRequest api = ClientRequest::get("127.0.0.1", port, "/v1/x");
  api.headers.set("Authorization", "Bearer sk-1");
  EXPECT_EQ(client.send(api)->body, "hello");
  api.headers.set("Authorization", "Bearer sk-2");
  EXPECT_EQ(client.send(api)->status, 401);
}

}  // namespace
}  // namespace pdserve::server
