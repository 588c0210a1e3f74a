// Private to common/wire: JSON text written front to back into one string,
// for the requests sent once per request (a generate or prefill request):
// building a json value first cost more than writing it.
//
//   JsonWriter w;
//   w.begin_object();
//   w.key("ids");
//   w.int_array(ids);
//   w.key("name");
//   w.value(name);
//   w.end_object();
//   std::string text = std::move(w).take();   // {"ids":[1,2],"name":"x"}
//
// Commas come by themselves. Strings must be UTF-8 (they are escaped, not
// checked); a float that is not finite is written as null, as nlohmann does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pdserve::server::internal {

class JsonWriter {
 public:
  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view name);  // a name that needs no escape (the writer's own)

  void value(std::string_view s);
  void value(const char* s) { value(std::string_view(s)); }
  void value(int64_t n);
  void value(uint64_t n);
  void value(int n) { value(static_cast<int64_t>(n)); }
  void value(double d);  // shortest text that reads back as the same double
  void value(float f) { value(static_cast<double>(f)); }
  void value(bool b);
  void null();
  template <typename T>
  void field(std::string_view name, const T& v) {
    key(name);
    value(v);
  }
  template <typename Int>
  void int_array(const std::vector<Int>& values) {
    begin_array();
    for (Int v : values) value(v);
    end_array();
  }

  std::string take() && { return std::move(out_); }

 private:
  void open(char bracket);
  void close(char bracket);
  void separate();

  std::string out_;
  bool need_comma_ = false;
};

}  // namespace pdserve::server::internal
