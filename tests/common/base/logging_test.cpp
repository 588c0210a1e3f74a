#include "common/base/logging.h"

#include <gtest/gtest.h>

namespace pdserve {
namespace {

TEST(LoggingTest, ParsesLevels) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(parse_log_level("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(parse_log_level("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_FALSE(parse_log_level("loud", &level));
  EXPECT_EQ(level, LogLevel::kError);
}

TEST(LoggingTest, MessagesBelowLevelAreNotEvaluated) {
  LogLevel saved = log_level();
  set_log_level(LogLevel::kWarn);
  int evaluated = 0;
  PD_LOG(INFO) << (++evaluated);
  EXPECT_EQ(evaluated, 0);
  PD_LOG(ERROR) << "shown " << (++evaluated);
  EXPECT_EQ(evaluated, 1);
  set_log_level(saved);
}

TEST(LoggingTest, ParsesFormats) {
  LogFormat format = LogFormat::kText;
  EXPECT_TRUE(parse_log_format("json", &format));
  EXPECT_EQ(format, LogFormat::kJson);
  EXPECT_TRUE(parse_log_format("text", &format));
  EXPECT_EQ(format, LogFormat::kText);
  EXPECT_FALSE(parse_log_format("xml", &format));
  EXPECT_EQ(format, LogFormat::kText);
}

TEST(LoggingTest, JsonLinesAreOneObjectEachWithEscapedMessage) {
  set_log_format(LogFormat::kJson);
  testing::internal::CaptureStderr();
  PD_LOG(WARN) << "quote \" backslash \\ newline \n tab \t bell \x07";
  log_fields(LogLevel::kInfo, "dir/x.cpp", 7, "first_token", "\"request_id\":\"r1\",\"n\":3",
             "request_id=r1 n=3");
  std::string out = testing::internal::GetCapturedStderr();
  set_log_format(LogFormat::kText);
  size_t nl = out.find('\n');
  ASSERT_NE(nl, std::string::npos) << out;
  std::string first = out.substr(0, nl), second = out.substr(nl + 1);
  EXPECT_TRUE(first.starts_with("{\"time\":\"")) << first;
  EXPECT_NE(first.find("Z\",\"level\":\"warn\",\"source\":\"logging_test.cpp:"), std::string::npos)
      << first;
  EXPECT_NE(
      first.find("\"message\":\"quote \\\" backslash \\\\ newline \\n tab \\t bell \\u0007\"}"),
      std::string::npos)
      << first;
  EXPECT_NE(second.find("\"level\":\"info\",\"source\":\"x.cpp:7\",\"message\":\"first_token\","
                        "\"request_id\":\"r1\",\"n\":3}\n"),
            std::string::npos)
      << second;
}

TEST(LoggingTest, TextLinesCarryTheFieldsAfterTheMessage) {
  testing::internal::CaptureStderr();
  log_fields(LogLevel::kInfo, "x.cpp", 7, "first_token", "\"n\":3", "request_id=r1 n=3");
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(out.starts_with("I ")) << out;
  EXPECT_TRUE(out.ends_with(" x.cpp:7] first_token request_id=r1 n=3\n")) << out;
}

TEST(LoggingDeathTest, CheckFailureAbortsWithLocationAndMessage) {
  int blocks = 0;
  EXPECT_DEATH(PD_CHECK(blocks > 0) << "no free blocks",
               "logging_test.cpp:.*blocks > 0.*no free blocks");
}

}  // namespace
}  // namespace pdserve
