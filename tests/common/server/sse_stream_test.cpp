// SSE end to end: SseWriter on the server, HttpClient::stream_sse on the client.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "common/server/http_client.h"
#include "common/server/http_server.h"
#include "common/server/sse_heartbeat.h"
#include "tests/common/server/raw_socket.h"
#include "tests/common/server/silent_listener.h"

namespace pdserve::server {
namespace {

using namespace std::chrono_literals;

// Holds the SseWriter the handler made, for the test to drive from its own thread.
struct StreamSlot {
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<SseWriter> writer;
  std::atomic<int> disconnects{0};

  std::shared_ptr<SseWriter> wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 5s, [&] { return writer != nullptr; });
    return writer;
  }
};

std::unique_ptr<Server> start_stream_server(StreamSlot* slot, ServerOptions opts = {}) {
  Routes routes;
  routes.add("POST", "/stream", [slot](Request, std::shared_ptr<ResponseWriter> w) {
    auto sse = w->start_sse();
    sse->on_disconnect([slot] { slot->disconnects.fetch_add(1); });
    std::lock_guard<std::mutex> lock(slot->mu);
    slot->writer = sse;
    slot->cv.notify_all();
  });
  routes.add("POST", "/busy", [](const Request&) {
    return Response::json(429, R"({"error":{"message":"queue full"}})");
  });
  auto server = Server::start(std::move(opts), std::move(routes));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return std::move(server).value();
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Each of these runs with the io thread writing every event, and with the
// producer's thread writing what the socket takes at once
// (ServerOptions::producer_sends).
class SseStreamSends : public ::testing::TestWithParam<bool> {
 protected:
  ServerOptions options() const {
    ServerOptions o;
    o.producer_sends = GetParam();
    return o;
  }
};

INSTANTIATE_TEST_SUITE_P(IoThreadOrProducer, SseStreamSends, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ProducerSends" : "IoThreadSends";
                         });

TEST_P(SseStreamSends, ManyEventsArriveInOrderAsTheyAreSent) {
  StreamSlot slot;
  auto server = start_stream_server(&slot, options());
  HttpClient client;
  std::atomic<int> received{0};
  std::atomic<bool> in_order{true};
  auto stream =
      client.stream_sse(ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}"),
                        [&](const SseEvent& ev) {
                          if (ev.data != "token " + std::to_string(received.load()))
                            in_order = false;
                          received.fetch_add(1);
                          return true;
                        });
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  // Lock-step for the first events: each must reach the client before the
  // next is sent, so nothing waits for the stream to end.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(sse->send_event("token " + std::to_string(i)).ok());
    ASSERT_TRUE(eventually([&] { return received.load() == i + 1; }, 2s)) << "event " << i;
  }
  for (int i = 10; i < 2000; ++i) {
    Status st = sse->send_event("token " + std::to_string(i));
    while (st.code() == StatusCode::kResourceExhausted) {
      sse->wait_writable(100ms);
      st = sse->send_event("token " + std::to_string(i));
    }
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  sse->close();
  EXPECT_TRUE(stream->wait().ok()) << stream->wait().to_string();
  EXPECT_EQ(received.load(), 2000);
  EXPECT_TRUE(in_order.load());
  EXPECT_EQ(stream->http_status(), 200);
  EXPECT_EQ(slot.disconnects.load(), 0);
  // The connection went back to the pool after the stream's last chunk.
  auto again = client.get("127.0.0.1", server->port(), "/missing");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(client.num_connections_opened(), 1u);
}

TEST_P(SseStreamSends, LargeEventsArriveWholeWhenTheSocketTakesThemInParts) {
  StreamSlot slot;
  auto server = start_stream_server(&slot, options());
  HttpClient client;
  constexpr int kNumEvents = 48;
  constexpr size_t kEventBytes = 256 << 10;
  std::atomic<int> received{0};
  std::atomic<bool> intact{true};
  auto stream =
      client.stream_sse(ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}"),
                        [&](const SseEvent& ev) {
                          // The client stalls at first: the server's socket fills up, and its
                          // sends take only part of a chunk.
                          if (received.load() == 0) std::this_thread::sleep_for(300ms);
                          const int i = received.fetch_add(1);
                          if (ev.data != std::string(kEventBytes, static_cast<char>('a' + i % 26)))
                            intact = false;
                          return true;
                        });
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  for (int i = 0; i < kNumEvents; ++i) {
    const std::string event(kEventBytes, static_cast<char>('a' + i % 26));
    Status st = sse->send_event(event);
    while (st.code() == StatusCode::kResourceExhausted) {
      sse->wait_writable(100ms);
      st = sse->send_event(event);
    }
    ASSERT_TRUE(st.ok()) << st.to_string();
  }
  sse->close();
  EXPECT_TRUE(stream->wait().ok()) << stream->wait().to_string();
  EXPECT_EQ(received.load(), kNumEvents);
  EXPECT_TRUE(intact.load());
}

// A server that answers one request with `answer` as raw bytes, then closes.
class CannedServer {
 public:
  explicit CannedServer(std::string answer)
      : thread_([this, answer = std::move(answer)] {
          const int fd = ::accept(listener_.fd(), nullptr, nullptr);
          if (fd < 0) return;
          std::string request;
          char buf[4096];
          while (request.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            request.append(buf, static_cast<size_t>(n));
          }
          (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
          ::close(fd);
        }) {}
  ~CannedServer() { thread_.join(); }
  uint16_t port() const { return listener_.port(); }

 private:
  testing::SilentListener listener_;
  std::thread thread_;
};

std::vector<std::string> stream_from(uint16_t port, Status* status) {
  HttpClient client;
  std::vector<std::string> data;
  *status = client.stream_sse_blocking(ClientRequest::post_json("127.0.0.1", port, "/", "{}"),
                                       [&](const SseEvent& ev) {
                                         data.push_back(ev.data);
                                         return true;
                                       });
  return data;
}

TEST(SseStream, AStreamWithoutALengthEndsWhenTheServerCloses) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
      "data: one\n\ndata: two\n\n");
  Status st;
  EXPECT_EQ(stream_from(server.port(), &st), (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(st.ok()) << st.to_string();
}

TEST(SseStream, AChunkedStreamCutShortIsAnError) {
  CannedServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
      "b\r\ndata: one\n\n\r\n");
  Status st;
  EXPECT_EQ(stream_from(server.port(), &st), (std::vector<std::string>{"one"}));
  EXPECT_FALSE(st.ok());
}

TEST_P(SseStreamSends, ProducerLearnsTheClientWentAway) {
  StreamSlot slot;
  auto server = start_stream_server(&slot, options());
  HttpClient client;
  std::atomic<int> received{0};
  std::promise<Status> done;
  auto stream = client.stream_sse(
      ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}"),
      [&](const SseEvent&) { return received.fetch_add(1) + 1 < 3; },  // stop after 3
      [&](Status st) { done.set_value(st); });
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sse->send_event("x").ok());
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  // No more events are sent: the watch on the socket alone must notice.
  EXPECT_TRUE(eventually([&] { return slot.disconnects.load() == 1; }, 1s));
  EXPECT_TRUE(sse->is_closed());
  EXPECT_EQ(sse->send_event("late").code(), StatusCode::kCancelled);
}

TEST(SseStream, ClientVanishingWhileTheStreamIsSilentIsDetected) {
  StreamSlot slot;
  auto server = start_stream_server(&slot);
  testing::RawSocket sock(server->port());
  ASSERT_TRUE(sock.send_all("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  ASSERT_TRUE(sse->send_comment("hello").ok());
  std::string head = sock.read(2s, nullptr, ": hello");
  EXPECT_NE(head.find("text/event-stream"), std::string::npos) << head;
  EXPECT_FALSE(sse->is_closed());
  auto start = std::chrono::steady_clock::now();
  sock.close();
  EXPECT_TRUE(eventually([&] { return sse->is_closed(); }, 1s));
  EXPECT_EQ(slot.disconnects.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(SseStream, ClientCancelEndsTheStreamAtOnce) {
  StreamSlot slot;
  auto server = start_stream_server(&slot);
  HttpClient client;
  std::promise<Status> done;
  auto stream = client.stream_sse(
      ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}"),
      [](const SseEvent&) { return true; }, [&](Status st) { done.set_value(st); });
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  ASSERT_TRUE(sse->send_event("first").ok());
  auto start = std::chrono::steady_clock::now();
  stream->cancel();
  EXPECT_EQ(done.get_future().get().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  EXPECT_TRUE(stream->done());
  EXPECT_TRUE(eventually([&] { return sse->is_closed(); }, 1s));
}

TEST_P(SseStreamSends, SlowReaderGivesBackpressure) {
  StreamSlot slot;
  ServerOptions opts = options();
  opts.max_sse_buffered_bytes = 64 << 10;
  auto server = start_stream_server(&slot, opts);
  testing::RawSocket sock(server->port());  // sends a request, then never reads
  ASSERT_TRUE(sock.send_all("POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"));
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  // Fill the socket buffers and ours: stop when nothing drains any more.
  std::string event(4 << 10, 'e');
  size_t sent = 0;
  while (sent < (size_t{256} << 20)) {
    Status st = sse->send_event(event);
    if (st.ok()) {
      sent += event.size();
      continue;
    }
    ASSERT_EQ(st.code(), StatusCode::kResourceExhausted) << st.to_string();
    if (!sse->wait_writable(100ms)) break;
  }
  EXPECT_LT(sent, size_t{256} << 20);
  // The kernel may still take a few bytes after the wait gave up (a loaded
  // machine runs the writer late): top the buffer up again, then it must
  // refuse with the buffer at its bound and the stream still open.
  Status st;
  for (int i = 0; i < 1024 && (st = sse->send_event(event)).ok(); ++i) {
  }
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.to_string();
  EXPECT_GT(sse->buffered_bytes() + event.size(), size_t{64} << 10);
  EXPECT_FALSE(sse->is_closed());
}

// With producer_sends an event reaches the client while the connection's
// only io thread is busy elsewhere: the producer's thread wrote it.
TEST(SseStream, ProducerSendsWhileTheIoThreadIsBusy) {
  StreamSlot slot;
  std::promise<void> blocking;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Routes routes;
  routes.add("POST", "/stream", [&slot](Request, std::shared_ptr<ResponseWriter> w) {
    std::lock_guard<std::mutex> lock(slot.mu);
    slot.writer = w->start_sse();
    slot.cv.notify_all();
  });
  routes.add("POST", "/block", [&](const Request&) {
    blocking.set_value();
    released.wait_for(10s);  // holds the only io thread
    return Response::json(200, "{}");
  });
  ServerOptions opts;
  opts.num_io_threads = 1;
  opts.producer_sends = true;
  auto server = Server::start(opts, std::move(routes));
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  HttpClient client;
  std::atomic<int> received{0};
  auto stream =
      client.stream_sse(ClientRequest::post_json("127.0.0.1", (*server)->port(), "/stream", "{}"),
                        [&](const SseEvent&) {
                          received.fetch_add(1);
                          return true;
                        });
  auto sse = slot.wait();
  ASSERT_NE(sse, nullptr);
  ASSERT_TRUE(sse->send_event("first").ok());
  ASSERT_TRUE(eventually([&] { return received.load() == 1; }, 5s));
  auto blocked =
      client.send_async(ClientRequest::post_json("127.0.0.1", (*server)->port(), "/block", "{}"),
                        [](Result<ClientResponse>) {});
  blocking.get_future().wait();
  ASSERT_TRUE(sse->send_event("second").ok());
  EXPECT_TRUE(eventually([&] { return received.load() == 2; }, 5s));
  release.set_value();
  sse->close();
  EXPECT_TRUE(stream->wait().ok());
  EXPECT_EQ(received.load(), 2);
}

TEST(SseStream, ErrorAnswerEndsTheStreamWithItsStatus) {
  StreamSlot slot;
  auto server = start_stream_server(&slot);
  HttpClient client;
  int events = 0;
  auto stream =
      client.stream_sse(ClientRequest::post_json("127.0.0.1", server->port(), "/busy", "{}"),
                        [&](const SseEvent&) { return ++events > 0; });
  Status st = stream->wait();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.to_string();
  EXPECT_EQ(stream->http_status(), 429) << st.to_string();
  EXPECT_NE(stream->error_body().find("queue full"), std::string::npos);
  EXPECT_EQ(events, 0);
}

TEST(SseStream, BlockingFormReturnsAtTheEnd) {
  StreamSlot slot;
  auto server = start_stream_server(&slot);
  HttpClient client;
  std::thread producer([&] {
    auto sse = slot.wait();
    if (!sse) return;
    for (int i = 0; i < 5; ++i) (void)sse->send_event(std::to_string(i));
    sse->close();
  });
  std::string got;
  Status st = client.stream_sse_blocking(
      ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}"),
      [&](const SseEvent& ev) {
        got += ev.data;
        return true;
      });
  producer.join();
  EXPECT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(got, "01234");
}

// A silent stream with a heartbeat outlives a reader's short silence
// deadline; without one the reader gives up at the deadline.
TEST(SseStream, HeartbeatKeepsASilentStreamAliveUnderAShortReadDeadline) {
  StreamSlot slot;
  auto server = start_stream_server(&slot);
  HttpClient client;
  for (bool with_heartbeat : {true, false}) {
    {
      std::lock_guard<std::mutex> lock(slot.mu);
      slot.writer = nullptr;
    }
    std::promise<Status> done;
    std::atomic<int> comments{0};
    ClientRequest req = ClientRequest::post_json("127.0.0.1", server->port(), "/stream", "{}");
    req.read_timeout = 400ms;
    auto stream = client.stream_sse(
        std::move(req),
        [&](const SseEvent& ev) {
          if (ev.is_comment) comments.fetch_add(1);
          return true;
        },
        [&](Status st) { done.set_value(st); });
    auto sse = slot.wait();
    ASSERT_NE(sse, nullptr);
    SseHeartbeat beat(100ms);
    if (with_heartbeat) beat.add(sse);
    auto finished = done.get_future();
    const bool ended = finished.wait_for(1500ms) == std::future_status::ready;
    if (with_heartbeat) {
      EXPECT_FALSE(ended) << finished.get().to_string();
      EXPECT_GE(comments.load(), 5);
      EXPECT_EQ(beat.size(), 1u);
      sse->close();
      EXPECT_TRUE(finished.get().ok());
      EXPECT_TRUE(eventually([&] { return beat.size() == 0; }, 1s));  // closed: dropped
    } else {
      EXPECT_TRUE(ended);
      if (ended) {
        EXPECT_EQ(finished.get().code(), StatusCode::kDeadlineExceeded);
      }
      EXPECT_EQ(comments.load(), 0);
    }
  }
}

}  // namespace
}  // namespace pdserve::server
