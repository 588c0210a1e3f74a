#include "common/server/routes.h"

#include <utility>

namespace pdserve::server {

Handler to_handler(SyncHandler handler) {
  return [h = std::move(handler)](Request req, std::shared_ptr<ResponseWriter> writer) {
    writer->respond(h(req));
  };
}

void Routes::add(std::string method, std::string path, Handler handler, RouteOptions options) {
  entries_.push_back(
      {std::move(method), std::move(path), false, std::move(handler), std::move(options)});
}

void Routes::add(std::string method, std::string path, SyncHandler handler, RouteOptions options) {
  add(std::move(method), std::move(path), to_handler(std::move(handler)), std::move(options));
}

void Routes::add_prefix(std::string method, std::string prefix, Handler handler,
                        RouteOptions options) {
  entries_.push_back(
      {std::move(method), std::move(prefix), true, std::move(handler), std::move(options)});
}

void Routes::add_prefix(std::string method, std::string prefix, SyncHandler handler,
                        RouteOptions options) {
  add_prefix(std::move(method), std::move(prefix), to_handler(std::move(handler)),
             std::move(options));
}

Routes::Match Routes::resolve(std::string_view method, std::string_view path) const {
  const Entry* best = nullptr;  // best entry with the right method
  bool best_exact = false;
  std::vector<std::string_view> other_methods;
  for (const Entry& e : entries_) {
    bool exact = !e.prefix && e.path == path;
    bool matches = exact || (e.prefix && path.substr(0, e.path.size()) == e.path);
    if (!matches) continue;
    if (e.method != method) {
      other_methods.push_back(e.method);
      continue;
    }
    if (!best || (exact && !best_exact) ||
        (!exact && !best_exact && e.path.size() > best->path.size())) {
      best = &e;
      best_exact = exact;
    }
  }
  Match match;
  if (best) {
    match.handler = &best->handler;
    match.options = &best->options;
    return match;
  }
  if (other_methods.empty()) {
    match.status = 404;
    return match;
  }
  match.status = 405;
  for (std::string_view m : other_methods) {
    if (match.allow.find(m) != std::string::npos) continue;
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += m;
  }
  return match;
}

}  // namespace pdserve::server
