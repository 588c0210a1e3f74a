// The routing table: handlers registered by method and exact path, or by
// path prefix. Resolution is pure (no I/O) and unit-tested on its own.
//
//   Routes routes;
//   routes.add("GET", "/v1/models", [](const Request&) { return Response::json(200, body); });
//   routes.add("POST", "/v1/completions",
//              [](Request req, std::shared_ptr<ResponseWriter> w) { ...answer later... });
//   routes.add_prefix("GET", "/static/", handler);
//
// An exact path wins over a prefix; among prefixes the longest wins. A path
// that matches with another method resolves to 405 (with the Allow list);
// no match at all is 404.
//
// Bounded before authenticated: a route's RouteOptions are applied on the
// request's headers, before its body is read. A request that fails the
// route's check (401 for kUnauthenticated), or has no route, is answered
// without its body being read; a body over the route's limit is refused
// (413) at once when Content-Length says so, else as it arrives (chunked):
//   routes.add("GET", "/internal/v1/state", handler,
//              {.check = cluster_token_check(token), .max_body_bytes = kControlBodyBytes});
//
// Handlers run on a server io thread: they must not block (keep the writer
// and answer from another thread for long work) and must not throw; an
// exception that escapes anyway is caught, logged as a bug, and answered 500.
// Thread-safety: build the table before Server::start; afterwards it is only
// read, from any number of threads.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/server/response_writer.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

// Answers through the writer, now or later from any thread.
using Handler = std::function<void(Request, std::shared_ptr<ResponseWriter>)>;
// Answers at once with a complete response.
using SyncHandler = std::function<Response(const Request&)>;

// A Handler that answers with handler(request).
Handler to_handler(SyncHandler handler);

// Decides on a request's method, target and headers (its body is empty):
// ok lets it in, an error is the answer (kUnauthenticated: 401 with
// "WWW-Authenticate: Bearer"). Must not block; called on an io thread.
using HeaderCheck = std::function<Status(const Request&)>;

// The body limit of a control route (registration, state: small JSON).
inline constexpr size_t kControlBodyBytes = size_t{64} << 10;

struct RouteOptions {
  HeaderCheck check;          // none: every request reaches the handler
  size_t max_body_bytes = 0;  // 0: the server's ServerOptions::max_body_bytes
};

class Routes {
 public:
  void add(std::string method, std::string path, Handler handler, RouteOptions options = {});
  void add(std::string method, std::string path, SyncHandler handler, RouteOptions options = {});
  void add_prefix(std::string method, std::string prefix, Handler handler,
                  RouteOptions options = {});
  void add_prefix(std::string method, std::string prefix, SyncHandler handler,
                  RouteOptions options = {});

  struct Match {
    const Handler* handler = nullptr;       // null when status is 404 or 405
    const RouteOptions* options = nullptr;  // with handler
    int status = 200;                       // 200, 404 or 405
    std::string allow;                      // for 405: "GET, POST"
  };
  Match resolve(std::string_view method, std::string_view path) const;

 private:
  struct Entry {
    std::string method;
    std::string path;
    bool prefix = false;
    Handler handler;
    RouteOptions options;
  };
  std::vector<Entry> entries_;
};

}  // namespace pdserve::server
