#include "common/server/http_client.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/base/task.h"
#include "common/server/http_server.h"
#include "tests/common/base/sync_wait.h"

namespace pdserve::server {
namespace {

using namespace std::chrono_literals;

TEST(HttpClient, RefusedConnectionIsUnavailable) {
  uint16_t port = 0;
  {
    auto server = Server::start(ServerOptions(), Routes());
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }  // stopped: nothing listens there now
  HttpClient client;
  auto r = client.get("127.0.0.1", port, "/");
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().to_string();
}

TEST(HttpClient, ServerThatNeverAnswersHitsTheReadDeadline) {
  Routes routes;
  std::vector<std::shared_ptr<ResponseWriter>> kept;
  std::mutex mu;
  routes.add("GET", "/hang", [&](Request, std::shared_ptr<ResponseWriter> w) {
    std::lock_guard<std::mutex> lock(mu);
    kept.push_back(std::move(w));
  });
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  ClientOptions opts;
  opts.read_timeout = 200ms;
  HttpClient client(opts);
  auto start = std::chrono::steady_clock::now();
  auto r = client.get("127.0.0.1", (*server)->port(), "/hang");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);

  // A per-request deadline overrides the client's.
  ClientRequest req = ClientRequest::get("127.0.0.1", (*server)->port(), "/hang");
  req.read_timeout = 50ms;
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.send(req).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 180ms);
  // And the server learns the client gave up.
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(kept.size(), 2u);
  for (int i = 0; i < 100 && !kept[1]->is_closed(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(kept[1]->is_closed());
}

TEST(HttpClient, ReconnectsWhenThePooledConnectionWasClosed) {
  Routes routes;
  routes.add("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  ServerOptions sopts;
  sopts.idle_timeout = 100ms;
  auto server = Server::start(sopts, std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  ASSERT_TRUE(client.get("127.0.0.1", (*server)->port(), "/ping").ok());
  std::this_thread::sleep_for(300ms);  // the server closes the idle connection
  auto r = client.get("127.0.0.1", (*server)->port(), "/ping");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "pong");
  EXPECT_EQ(client.num_connections_opened(), 2u);
}

// A server whose POST /len answers the length of the body.
Result<std::unique_ptr<Server>> start_len_server() {
  Routes routes;
  routes.add("POST", "/len", [](const Request& req) {
    return Response::text(200, std::to_string(req.body.size()));
  });
  return Server::start(ServerOptions(), std::move(routes));
}

TEST(HttpClient, AsyncSendCallsBackOnce) {
  auto server = start_len_server();
  ASSERT_TRUE(server.ok());
  HttpClient client;
  std::promise<Result<ClientResponse>> promise;
  client.send_async(ClientRequest::post_json("127.0.0.1", (*server)->port(), "/len", "12345"),
                    [&](Result<ClientResponse> r) { promise.set_value(std::move(r)); });
  auto r = promise.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "5");
}

// The coroutine form: the coroutine goes on with the answer, or the error.
TEST(HttpClient, AwaitedCallGivesTheAnswerOrTheError) {
  auto server = start_len_server();
  ASSERT_TRUE(server.ok());
  HttpClient client;
  auto ask = [](HttpClient& c, ClientRequest req) -> Task<std::pair<Status, std::string>> {
    Result<ClientResponse> r = co_await c.call(std::move(req));
    co_return std::pair<Status, std::string>{r.status(), r.ok() ? r->body : ""};
  };
  auto [answered, body] = sync_wait(
      ask(client, ClientRequest::post_json("127.0.0.1", (*server)->port(), "/len", "1234")));
  EXPECT_TRUE(answered.ok()) << answered.to_string();
  EXPECT_EQ(body, "4");
  const uint16_t port = (*server)->port();
  server->reset();  // nothing listens there now
  Status refused = sync_wait(ask(client, ClientRequest::get("127.0.0.1", port, "/"))).first;
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable) << refused.to_string();
}

TEST(HttpClient, ResolvesHostNames) {
  Routes routes;
  routes.add("GET", "/ping", [](const Request&) { return Response::text(200, "pong"); });
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  auto r = client.get("localhost", (*server)->port(), "/ping");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->body, "pong");
}

// Cancelling a call closes its connection: the caller gets kCancelled and the
// server sees its client go away (the prefill worker aborts the request).
TEST(HttpClient, CancelledCallClosesItsConnection) {
  Routes routes;
  std::shared_ptr<ResponseWriter> kept;
  std::promise<void> received;
  std::promise<void> disconnected;
  routes.add("GET", "/hang", [&](Request, std::shared_ptr<ResponseWriter> w) {
    kept = w;
    kept->on_disconnect([&] { disconnected.set_value(); });
    received.set_value();
  });
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  HttpClient client;
  std::promise<Status> done;
  PendingCall call =
      client.send_async(ClientRequest::get("127.0.0.1", (*server)->port(), "/hang"),
                        [&](Result<ClientResponse> r) { done.set_value(r.status()); });
  received.get_future().wait();
  call.cancel();
  call.cancel();  // idempotent
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  EXPECT_EQ(disconnected.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(kept->is_closed());
}

// After the answer, cancel() does nothing: the pooled connection serves the next call.
TEST(HttpClient, CancelAfterTheAnswerChangesNothing) {
  auto server = start_len_server();
  ASSERT_TRUE(server.ok());
  HttpClient client;
  std::promise<Result<ClientResponse>> promise;
  PendingCall call =
      client.send_async(ClientRequest::post_json("127.0.0.1", (*server)->port(), "/len", "123"),
                        [&](Result<ClientResponse> r) { promise.set_value(std::move(r)); });
  auto r = promise.get_future().get();
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  call.cancel();
  auto again = client.post_json("127.0.0.1", (*server)->port(), "/len", "12");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->body, "2");
  EXPECT_EQ(client.num_connections_opened(), 1u);
}

TEST(HttpClient, DestroyingTheClientCancelsWhatIsInFlight) {
  Routes routes;
  std::shared_ptr<ResponseWriter> kept;
  routes.add("GET", "/hang", [&](Request, std::shared_ptr<ResponseWriter> w) { kept = w; });
  auto server = Server::start(ServerOptions(), std::move(routes));
  ASSERT_TRUE(server.ok());
  std::promise<Status> done;
  auto start = std::chrono::steady_clock::now();
  {
    HttpClient client;
    client.send_async(ClientRequest::get("127.0.0.1", (*server)->port(), "/hang"),
                      [&](Result<ClientResponse> r) { done.set_value(r.status()); });
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace pdserve::server
