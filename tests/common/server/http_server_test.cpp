#include "common/server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "common/server/http_client.h"
#include "tests/common/server/raw_socket.h"

namespace pdserve::server {
namespace {

using namespace std::chrono_literals;
using testing::RawSocket;

std::unique_ptr<Server> start_server(Routes routes, ServerOptions opts = {}) {
  auto server = Server::start(std::move(opts), std::move(routes));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return std::move(server).value();
}

Routes basic_routes() {
  Routes routes;
  routes.add("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  routes.add("POST", "/echo", [](const Request& req) {
    Response r = Response::text(200, req.body);
    r.headers.set("X-Seen", std::string(req.headers.get("x-test").value_or("none")));
    r.headers.set("X-Name", req.query_param("name").value_or(""));
    return r;
  });
  routes.add("GET", "/whoami",
             [](const Request& req) { return Response::text(200, req.remote_address); });
  return routes;
}

TEST(HttpServer, GetAndPost) {
  auto server = start_server(basic_routes());
  ASSERT_GT(server->port(), 0);
  HttpClient client;
  auto get = client.get("127.0.0.1", server->port(), "/ping");
  ASSERT_TRUE(get.ok()) << get.status().to_string();
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "pong");

  ClientRequest post =
      ClientRequest::post_json("127.0.0.1", server->port(), "/echo?name=a%20b", R"({"x":1})");
  post.headers.set("X-Test", "yes");
  auto echo = client.send(post);
  ASSERT_TRUE(echo.ok()) << echo.status().to_string();
  EXPECT_EQ(echo->body, R"({"x":1})");
  EXPECT_EQ(echo->headers.get("x-seen").value_or(""), "yes");
  EXPECT_EQ(echo->headers.get("X-NAME").value_or(""), "a b");
}

TEST(HttpServer, UnknownPathIs404AndWrongMethodIs405) {
  auto server = start_server(basic_routes());
  HttpClient client;
  auto missing = client.get("127.0.0.1", server->port(), "/nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_NE(missing->body.find("\"error\""), std::string::npos);
  auto wrong = client.post_json("127.0.0.1", server->port(), "/ping", "{}");
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->headers.get("Allow").value_or(""), "GET");
}

TEST(HttpServer, KeepAliveReusesOneConnection) {
  auto server = start_server(basic_routes());
  HttpClient client;
  std::set<std::string> peers;
  for (int i = 0; i < 5; ++i) {
    auto r = client.get("127.0.0.1", server->port(), "/whoami");
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    peers.insert(r->body);
  }
  EXPECT_EQ(peers.size(), 1u);
  EXPECT_EQ(client.num_connections_opened(), 1u);
}

TEST(HttpServer, ThirtyTwoConcurrentClients) {
  ServerOptions opts;
  opts.num_io_threads = 4;
  auto server = start_server(basic_routes(), opts);
  ClientOptions copts;
  copts.num_io_threads = 2;
  copts.max_idle_per_host = 32;
  HttpClient client(copts);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 32; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto r = client.post_json("127.0.0.1", server->port(), "/echo", body);
        if (r.ok() && r->status == 200 && r->body == body) ok.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 320);
  EXPECT_LE(client.num_connections_opened(), 32u);
}

TEST(HttpServer, BodyTooLargeIs413) {
  ServerOptions opts;
  opts.max_body_bytes = 1 << 20;
  auto server = start_server(basic_routes(), opts);
  HttpClient client;
  auto big = client.post_json("127.0.0.1", server->port(), "/echo", std::string(3 << 20, 'x'));
  ASSERT_TRUE(big.ok()) << big.status().to_string();
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("larger than"), std::string::npos);
  // A body at the limit is fine.
  auto fits = client.post_json("127.0.0.1", server->port(), "/echo", std::string(1 << 20, 'y'));
  ASSERT_TRUE(fits.ok()) << fits.status().to_string();
  EXPECT_EQ(fits->status, 200);
  EXPECT_EQ(fits->body.size(), size_t{1} << 20);
}

TEST(HttpServer, HeadersTooLargeIs431) {
  ServerOptions opts;
  opts.max_header_bytes = 8 << 10;
  auto server = start_server(basic_routes(), opts);
  HttpClient client;
  ClientRequest req = ClientRequest::get("127.0.0.1", server->port(), "/ping");
  req.headers.set("X-Big", std::string(16 << 10, 'h'));
  auto r = client.send(req);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 431);
}

TEST(HttpServer, MalformedRequestIs400) {
  auto server = start_server(basic_routes());
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all("NOT HTTP AT ALL\r\n\r\n"));
  bool closed = false;
  std::string answer = sock.read(2s, &closed);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_TRUE(closed);
}

TEST(HttpServer, ClientStallingAfterHeadersIsCut) {
  ServerOptions opts;
  opts.header_timeout = 300ms;
  opts.body_timeout = 300ms;
  auto server = start_server(basic_routes(), opts);
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  sock.read(3s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HttpServer, ClientStallingInHeadersIsCut) {
  ServerOptions opts;
  opts.header_timeout = 300ms;
  auto server = start_server(basic_routes(), opts);
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all("GET /ping HTTP/1.1\r\nHost: x\r\n"));
  auto start = std::chrono::steady_clock::now();
  bool closed = false;
  sock.read(3s, &closed);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  ServerOptions opts;
  opts.idle_timeout = 200ms;
  auto server = start_server(basic_routes(), opts);
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  std::string answer = sock.read(2s, &closed, "pong");
  EXPECT_NE(answer.find("pong"), std::string::npos);
  EXPECT_FALSE(closed);
  sock.read(2s, &closed);
  EXPECT_TRUE(closed);
}

TEST(HttpServer, HandlerCompletesFromAnotherThread) {
  Routes routes;
  std::vector<std::thread> workers;
  routes.add("GET", "/later", [&](Request, std::shared_ptr<ResponseWriter> w) {
    workers.emplace_back([w] {
      std::this_thread::sleep_for(100ms);
      w->respond(Response::text(200, "done later"));
    });
  });
  auto server = start_server(std::move(routes));
  HttpClient client;
  auto start = std::chrono::steady_clock::now();
  auto r = client.get("127.0.0.1", server->port(), "/later");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "done later");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  for (auto& t : workers) t.join();
}

TEST(HttpServer, ThrowingHandlerIs500) {
  Routes routes;
  routes.add("GET", "/throw", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  routes.add("GET", "/drop", [](Request, std::shared_ptr<ResponseWriter>) {});
  auto server = start_server(std::move(routes));
  HttpClient client;
  auto thrown = client.get("127.0.0.1", server->port(), "/throw");
  ASSERT_TRUE(thrown.ok());
  EXPECT_EQ(thrown->status, 500);
  auto dropped = client.get("127.0.0.1", server->port(), "/drop");
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(dropped->status, 500);
}

TEST(HttpServer, Expect100ContinueIsHonoured) {
  auto server = start_server(basic_routes());
  RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = sock.read(2s, nullptr, "\r\n\r\n");
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue", 0), 0u) << interim;
  ASSERT_TRUE(sock.send_all("hello"));
  std::string answer = sock.read(2s, nullptr, "hello");
  EXPECT_NE(answer.find("200 OK"), std::string::npos) << answer;
}

TEST(HttpServer, GracefulStopFinishesInFlightRequests) {
  Routes routes;
  std::vector<std::thread> workers;
  std::promise<void> entered;
  routes.add("GET", "/slow", [&](Request, std::shared_ptr<ResponseWriter> w) {
    entered.set_value();
    workers.emplace_back([w] {
      std::this_thread::sleep_for(300ms);
      w->respond(Response::text(200, "finished"));
    });
  });
  auto server = start_server(std::move(routes));
  uint16_t port = server->port();
  HttpClient client;
  auto pending =
      std::async(std::launch::async, [&] { return client.get("127.0.0.1", port, "/slow"); });
  entered.get_future().wait();
  RawSocket idle(port);  // an idle connection is closed at once
  ASSERT_TRUE(idle.connected());
  std::this_thread::sleep_for(50ms);
  server->stop(5s);
  auto r = pending.get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->headers.get("Connection").value_or(""), "close");
  for (auto& t : workers) t.join();
  auto after = client.get("127.0.0.1", port, "/slow");
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
}

TEST(HttpServer, StopCutsRequestsPastTheGracePeriod) {
  Routes routes;
  std::shared_ptr<ResponseWriter> kept;
  std::atomic<bool> disconnected{false};
  std::promise<void> entered;
  routes.add("GET", "/never", [&](Request, std::shared_ptr<ResponseWriter> w) {
    w->on_disconnect([&] { disconnected = true; });
    kept = w;
    entered.set_value();
  });
  auto server = start_server(std::move(routes));
  HttpClient client;
  auto pending = std::async(std::launch::async,
                            [&] { return client.get("127.0.0.1", server->port(), "/never"); });
  entered.get_future().wait();
  auto start = std::chrono::steady_clock::now();
  server->stop(200ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(disconnected.load());
  EXPECT_TRUE(kept->is_closed());
  EXPECT_FALSE(kept->respond(Response::text(200, "too late")));
  EXPECT_FALSE(pending.get().ok());
}

TEST(HttpServer, BadAddressIsAnError) {
  ServerOptions opts;
  opts.address = "not-an-ip";
  auto server = Server::start(opts, Routes());
  EXPECT_EQ(server.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdserve::server
