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
// A comment line (keep-alive ping); newlines in text become separate comments.
std::string format_sse_comment(std::string_view text);

// Incremental parser: feed bytes as they arrive in any split; complete events
// are appended to *out. Fields it does not know ("retry", others) are ignored.
// A pending event larger than max_event_bytes is an error (kResourceExhausted),
// after which the parser stays failed.
class SseParser {
 public:
  explicit SseParser(size_t max_event_bytes = 16 << 20) : max_event_bytes_(max_event_bytes) {}

  Status feed(std::string_view bytes, std::vector<SseEvent>* out);
  // Bytes seen but not yet part of a complete event (a stream that ends here
  // was cut mid-event when this is non-zero).
  size_t pending_bytes() const { return line_.size() + data_.size() + event_.size(); }

 private:
  void process_line(std::vector<SseEvent>* out);

  size_t max_event_bytes_;
  Status failed_;
  bool last_was_cr_ = false;
  bool has_data_ = false;
  std::string line_;
  std::string data_;
  std::string event_;
  std::string id_;
};

}  // namespace pdserve::server
