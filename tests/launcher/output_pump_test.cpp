#include "launcher/output_pump.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/base/logging.h"

namespace pdserve::launcher {
namespace {

// What a pump named "decode-0" writes for `input` (one child stream).
std::string pumped(const std::string& input) {
  int child[2], sink[2];
  EXPECT_EQ(::pipe(child), 0);
  EXPECT_EQ(::pipe(sink), 0);
  EXPECT_EQ(::write(child[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(child[1]);
  {
    OutputPump pump("decode-0", child[0], -1, sink[1], -1, 4);
    pump.finish(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  }
  ::close(sink[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(sink[0], buf, sizeof(buf))) > 0;) out.append(buf, n);
  ::close(sink[0]);
  return out;
}

TEST(OutputPump, PrefixesEachLineWithTheChildsName) {
  EXPECT_EQ(pumped("loaded 291 tensors\nready"),
            "[decode-0] loaded 291 tensors\n[decode-0] ready\n");
}

TEST(OutputPump, JsonLinesStayObjectsWithTheNameInside) {
  set_log_format(LogFormat::kJson);
  std::string out = pumped("{\"level\":\"info\",\"message\":\"hi\"}\nplain text\n");
  set_log_format(LogFormat::kText);
  EXPECT_EQ(out,
            "{\"child\":\"decode-0\",\"level\":\"info\",\"message\":\"hi\"}\n"
            "[decode-0] plain text\n");
}

}  // namespace
}  // namespace pdserve::launcher
