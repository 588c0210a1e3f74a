#include "common/server/sse.h"

#include <cstring>

namespace pdserve::server {
namespace {

// The index of the first '\n' or '\r' of text at or after `from`, else
// text.size(). memchr: a token's event is a few hundred bytes with one line.
size_t find_line_break(std::string_view text, size_t from) {
  if (from >= text.size()) return text.size();
  const char* begin = text.data() + from;
  const size_t n = text.size() - from;
  const char* nl = static_cast<const char*>(std::memchr(begin, '\n', n));
  const size_t before_nl = nl != nullptr ? static_cast<size_t>(nl - begin) : n;
  const char* cr = static_cast<const char*>(std::memchr(begin, '\r', before_nl));
  return from + (cr != nullptr ? static_cast<size_t>(cr - begin) : before_nl);
}

// Calls fn(line) for each line of text, splitting on \n, \r\n and \r.
template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  size_t start = 0;
  for (size_t i = find_line_break(text, 0); i < text.size(); i = find_line_break(text, start)) {
    fn(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  fn(text.substr(start));
}

}  // namespace

std::string format_sse_data(std::string_view data, std::string_view event) {
  std::string out;
  append_sse_data(&out, data, event);
  return out;
}

void append_sse_data(std::string* out, std::string_view data, std::string_view event) {
  out->reserve(out->size() + data.size() + event.size() + 16);
  if (!event.empty()) {
    out->append("event: ").append(event).append("\n");
  }
  for_each_line(data,
                [&](std::string_view line) { out->append("data: ").append(line).append("\n"); });
  out->append("\n");
}

std::string format_sse_comment(std::string_view text) {
  std::string out;
  for_each_line(text, [&](std::string_view line) { out.append(": ").append(line).append("\n"); });
  out.append("\n");
  return out;
}

Status SseParser::feed(std::string_view bytes, const OnEvent& on_event) {
  if (!failed_.ok()) return failed_;
  for (size_t i = 0; i < bytes.size();) {
    const char c = bytes[i];
    if (c == '\n' && last_was_cr_) {  // second half of "\r\n"
      last_was_cr_ = false;
      ++i;
      continue;
    }
    const size_t end = find_line_break(bytes, i);
    if (end > i) {  // the line's text up to its end (or to the end of these bytes)
      line_.append(bytes.substr(i, end - i));
      last_was_cr_ = false;
      i = end;
    } else {
      last_was_cr_ = c == '\r';
      process_line(on_event);
      line_.clear();
      ++i;
    }
    if (pending_bytes() > max_event_bytes_) {
      failed_ = resource_exhausted("SSE event larger than " + std::to_string(max_event_bytes_) +
                                   " bytes");
      return failed_;
    }
  }
  return ok_status();
}

void SseParser::process_line(const OnEvent& on_event) {
  if (line_.empty()) {  // blank line: dispatch
    if (has_data_) on_event(pending_);
    pending_.data.clear();
    pending_.event.clear();
    has_data_ = false;
    return;
  }
  std::string_view line = line_;
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value;
  if (colon != std::string_view::npos) {
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (colon == 0) {
    comment_.is_comment = true;
    comment_.data.assign(value);
    on_event(comment_);
  } else if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) pending_.id.assign(value);
  }
}

}  // namespace pdserve::server
