#include "common/wire/json_writer.h"

#include <charconv>
#include <cmath>

#include "common/base/logging.h"

namespace pdserve::server::internal {

void JsonWriter::separate() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

void JsonWriter::open(char bracket) {
  separate();
  out_.push_back(bracket);
  need_comma_ = false;
}

void JsonWriter::close(char bracket) {
  out_.push_back(bracket);
  need_comma_ = true;
}

void JsonWriter::key(std::string_view name) {
  separate();
  out_.push_back('"');
  out_.append(name);
  out_.append("\":");
  need_comma_ = false;
}

void JsonWriter::value(std::string_view s) {
  separate();
  out_.push_back('"');
  // Runs that need no escape are appended whole.
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_.append(s.substr(run_start, i - run_start));
    out_.append(json_escape(s.substr(i, 1)));
    run_start = i + 1;
  }
  out_.append(s.substr(run_start));
  out_.push_back('"');
}

void JsonWriter::value(int64_t n) {
  separate();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

void JsonWriter::value(uint64_t n) {
  separate();
  char buf[24];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
}

void JsonWriter::value(double d) {
  if (!std::isfinite(d)) return null();
  separate();
  char buf[32];
  out_.append(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
}

void JsonWriter::value(bool b) {
  separate();
  out_.append(b ? "true" : "false");
}

void JsonWriter::null() {
  separate();
  out_.append("null");
}

}  // namespace pdserve::server::internal
