// Server-sent events framing (WHATWG HTML, "server-sent events"): formatting
// on the server side and an incremental parser for the client side.
//
//   format_sse_data("{\"x\":1}")  ->  "data: {\"x\":1}\n\n"
//   format_sse_data("a\nb")       ->  "data: a\ndata: b\n\n"
//   format_sse_comment("ping")    ->  ": ping\n\n"
//
// Pure functions and a single-threaded parser; no I/O.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"

namespace pdserve::server {

struct SseEvent {
  std::string event;        // "event:" field; empty means the default "message"
  std::string data;         // data lines joined by '\n'
  std::string id;           // last event id seen ("id:" persists across events, as the spec says)
  bool is_comment = false;  // a ": text" line; its text (one leading space removed) is in data
};

// One event of `data` with an optional event name. Lines of data split on
// "\n", "\r\n" and "\r"; each becomes its own "data:" line.
std::string format_sse_data(std::string_view data, std::string_view event = {});
// The same bytes appended to *out (a buffer reused from event to event).
void append_sse_data(std::string* out, std::string_view data, std::string_view event = {});
// A comment line (keep-alive ping); newlines in text become separate comments.
std::string format_sse_comment(std::string_view text);

// Incremental parser: feed bytes as they arrive in any split; on_event is
// called with each complete event, in order, the event valid only during the
// call (the parser reuses its strings: a stream of events allocates nothing
// once they have been seen at their size). Fields it does not know ("retry",
// others) are ignored. A pending event larger than max_event_bytes is an
// error (kResourceExhausted), after which the parser stays failed.
class SseParser {
 public:
  using OnEvent = std::function<void(const SseEvent&)>;

  explicit SseParser(size_t max_event_bytes = 16 << 20) : max_event_bytes_(max_event_bytes) {}

  Status feed(std::string_view bytes, const OnEvent& on_event);
  // Bytes seen but not yet part of a complete event (a stream that ends here
  // was cut mid-event when this is non-zero).
  size_t pending_bytes() const {
    return line_.size() + pending_.data.size() + pending_.event.size();
  }

 private:
  void process_line(const OnEvent& on_event);

  size_t max_event_bytes_;
  Status failed_;
  bool last_was_cr_ = false;
  bool has_data_ = false;
  std::string line_;
  SseEvent pending_;  // the event being read (its id persists, as the spec says)
  SseEvent comment_;
};

}  // namespace pdserve::server
