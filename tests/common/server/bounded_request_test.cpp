// Bounded before authenticated: what the server decides on a request's
// headers, before reading its body (a 30 MiB unauthenticated body is refused
// unread), per-route body limits, bounded trailers, unknown transfer
// codings, the connection cap, and Retry-After on 429/503.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "common/server/auth.h"
#include "common/server/http_client.h"
#include "common/server/http_server.h"
#include "tests/common/server/raw_socket.h"

namespace pdserve::server {
namespace {

using namespace std::chrono_literals;
using testing::RawSocket;

constexpr const char* kToken = "cluster-secret";

Routes guarded_routes() {
  Routes routes;
  auto echo = [](const Request& req) { return Response::text(200, req.body); };
  routes.add("POST", "/internal/echo", echo, {.check = cluster_token_check(kToken)});
  routes.add("POST", "/control", echo, {.max_body_bytes = 1024});
  routes.add("POST", "/echo", echo);
  routes.add("GET", "/busy", [](const Request&) { return Response::text(429, "slow down"); });
  return routes;
}

std::unique_ptr<Server> start_server(ServerOptions opts = {}) {
  auto server = Server::start(std::move(opts), guarded_routes());
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return std::move(server).value();
}

std::string post_head(const std::string& path, size_t content_length,
                      const std::string& extra = "") {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + extra +
         "Content-Length: " + std::to_string(content_length) + "\r\n\r\n";
}

// The answer's status line and headers (up to the blank line).
std::string answer_head(RawSocket& sock) {
  return sock.read(5s, nullptr, "\r\n\r\n");
}

TEST(BoundedRequest, UnauthenticatedBodyIsRefusedBeforeItIsRead) {
  auto server = start_server();
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.connected());
  // Announce 30 MiB and send none of it: the answer comes anyway.
  ASSERT_TRUE(sock.send_all(post_head("/internal/echo", size_t{30} << 20)));
  const std::string head = answer_head(sock);
  EXPECT_EQ(head.rfind("HTTP/1.1 401", 0), 0u) << head;
  EXPECT_NE(head.find("WWW-Authenticate: Bearer"), std::string::npos) << head;

  RawSocket wrong(server->port());
  ASSERT_TRUE(wrong.send_all(
      post_head("/internal/echo", size_t{30} << 20, "Authorization: Bearer wrong\r\n")));
  EXPECT_EQ(answer_head(wrong).rfind("HTTP/1.1 401", 0), 0u);

  // With the token the body is read and handled.
  RawSocket good(server->port());
  ASSERT_TRUE(good.send_all(
      post_head("/internal/echo", 2, "Authorization: Bearer " + std::string(kToken) + "\r\n") +
      "{}"));
  EXPECT_EQ(answer_head(good).rfind("HTTP/1.1 200", 0), 0u);
}

TEST(BoundedRequest, NoRouteIsAnsweredBeforeTheBodyIsRead) {
  auto server = start_server();
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all(post_head("/nowhere", size_t{30} << 20)));
  EXPECT_EQ(answer_head(sock).rfind("HTTP/1.1 404", 0), 0u);
}

TEST(BoundedRequest, BodyLimitIsPerRoute) {
  auto server = start_server();
  HttpClient client;
  auto big = client.post_json("127.0.0.1", server->port(), "/control", std::string(2048, 'x'));
  ASSERT_TRUE(big.ok()) << big.status().to_string();
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("larger than 1024 bytes"), std::string::npos) << big->body;
  auto fits = client.post_json("127.0.0.1", server->port(), "/control", std::string(1024, 'y'));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->status, 200);
  // A route without a limit of its own takes the server's.
  auto echo = client.post_json("127.0.0.1", server->port(), "/echo", std::string(1 << 20, 'z'));
  ASSERT_TRUE(echo.ok());
  EXPECT_EQ(echo->status, 200);
}

std::string chunked_post(const std::string& trailer) {
  return "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5\r\nhello\r\n0\r\n" +
         trailer + "\r\n";
}

TEST(BoundedRequest, LargeTrailersAreRefusedAndTheServerGoesOn) {
  auto server = start_server();
  {
    // One trailer field of 70 KiB: once thrown out of the connection handler.
    RawSocket sock(server->port());
    ASSERT_TRUE(sock.send_all(chunked_post("X-Big: " + std::string(70 << 10, 'a') + "\r\n")));
    const std::string head = answer_head(sock);
    EXPECT_TRUE(head.rfind("HTTP/1.1 431", 0) == 0 || head.rfind("HTTP/1.1 400", 0) == 0) << head;
  }
  {
    // Many fields, 2 MiB in all: refused at the header limit, not buffered.
    std::string trailer;
    for (int i = 0; i < 256; ++i)
      trailer += "X-F" + std::to_string(i) + ": " + std::string(8000, 'b') + "\r\n";
    RawSocket sock(server->port());
    (void)sock.send_all(chunked_post(trailer));  // the server may close before it all went
    EXPECT_EQ(answer_head(sock).rfind("HTTP/1.1 431", 0), 0u);
  }
  // A small trailer is fine, and the server still serves.
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all(chunked_post("X-Small: 1\r\n")));
  const std::string answer = sock.read(5s, nullptr, "hello");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
}

TEST(BoundedRequest, UnknownTransferCodingsAreRefused) {
  auto server = start_server();
  for (const char* coding : {"gzip, chunked", "chunked, chunked", "identity", "gzip"}) {
    RawSocket sock(server->port());
    ASSERT_TRUE(sock.send_all(std::string("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ") +
                              coding + "\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
    bool closed = false;
    const std::string answer = sock.read(5s, &closed);
    EXPECT_TRUE(answer.rfind("HTTP/1.1 501", 0) == 0 || answer.rfind("HTTP/1.1 400", 0) == 0)
        << coding << ": " << answer;
    EXPECT_EQ(answer.find("hello"), std::string::npos) << coding << ": the body was used";
    EXPECT_TRUE(closed) << coding;
  }
  RawSocket plain(server->port());
  ASSERT_TRUE(plain.send_all(chunked_post("")));
  EXPECT_EQ(plain.read(5s, nullptr, "hello").rfind("HTTP/1.1 200", 0), 0u);
}

TEST(BoundedRequest, ConnectionsOverTheCapGet503WithRetryAfter) {
  ServerOptions opts;
  opts.max_connections = 2;
  auto server = start_server(opts);
  RawSocket a(server->port());
  RawSocket b(server->port());
  ASSERT_TRUE(a.connected() && b.connected());
  // Both are admitted once they can be served.
  ASSERT_TRUE(a.send_all("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(b.send_all("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(answer_head(a).rfind("HTTP/1.1 429", 0), 0u);
  EXPECT_EQ(answer_head(b).rfind("HTTP/1.1 429", 0), 0u);

  RawSocket c(server->port());
  ASSERT_TRUE(c.connected());
  const std::string refused = answer_head(c);
  EXPECT_EQ(refused.rfind("HTTP/1.1 503", 0), 0u) << refused;
  EXPECT_NE(refused.find("Retry-After: 1"), std::string::npos) << refused;

  a.close();
  // The slot comes back once the server saw the close.
  std::string again;
  for (int i = 0; i < 50; ++i) {
    RawSocket d(server->port());
    (void)d.send_all("GET /busy HTTP/1.1\r\nHost: x\r\n\r\n");
    again = answer_head(d);
    if (again.rfind("HTTP/1.1 429", 0) == 0) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(again.rfind("HTTP/1.1 429", 0), 0u) << again;
}

TEST(BoundedRequest, OverloadAnswersCarryRetryAfter) {
  auto server = start_server();
  HttpClient client;
  auto busy = client.get("127.0.0.1", server->port(), "/busy");
  ASSERT_TRUE(busy.ok());
  EXPECT_EQ(busy->status, 429);
  EXPECT_EQ(busy->headers.get("Retry-After").value_or(""), "1");
}

}  // namespace
}  // namespace pdserve::server
