#include "common/server/sse.h"

#include <gtest/gtest.h>

namespace pdserve::server {
namespace {

// Feeds bytes, appending copies of the events to *events.
Status feed(SseParser& parser, std::string_view bytes, std::vector<SseEvent>* events) {
  return parser.feed(bytes, [events](const SseEvent& ev) { events->push_back(ev); });
}

std::vector<SseEvent> parse(std::string_view bytes) {
  SseParser parser;
  std::vector<SseEvent> events;
  EXPECT_TRUE(feed(parser, bytes, &events).ok());
  return events;
}

TEST(Sse, FormatsDataEventsAndComments) {
  EXPECT_EQ(format_sse_data(R"({"x":1})"), "data: {\"x\":1}\n\n");
  EXPECT_EQ(format_sse_data("a\nb\r\nc"), "data: a\ndata: b\ndata: c\n\n");
  EXPECT_EQ(format_sse_data("[DONE]", "end"), "event: end\ndata: [DONE]\n\n");
  EXPECT_EQ(format_sse_data(""), "data: \n\n");
  EXPECT_EQ(format_sse_data("a\rb\r\r\nc\n"), "data: a\ndata: b\ndata: \ndata: c\ndata: \n\n");
  EXPECT_EQ(format_sse_comment("ping"), ": ping\n\n");
}

TEST(Sse, ParsesWhatItFormats) {
  std::string stream = format_sse_data("one") + format_sse_comment("keep-alive") +
                       format_sse_data("two\nlines", "custom");
  auto events = parse(stream);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].data, "one");
  EXPECT_FALSE(events[0].is_comment);
  EXPECT_TRUE(events[1].is_comment);
  EXPECT_EQ(events[1].data, "keep-alive");
  EXPECT_EQ(events[2].data, "two\nlines");
  EXPECT_EQ(events[2].event, "custom");
}

TEST(Sse, HandlesAnySplitAndLineEnding) {
  std::string stream = "data: first\r\ndata: second\r\n\r\nid: 7\rdata:no-space\r\r";
  for (size_t split = 0; split <= stream.size(); ++split) {
    SseParser parser;
    std::vector<SseEvent> events;
    ASSERT_TRUE(feed(parser, std::string_view(stream).substr(0, split), &events).ok());
    ASSERT_TRUE(feed(parser, std::string_view(stream).substr(split), &events).ok());
    ASSERT_EQ(events.size(), 2u) << "split at " << split;
    EXPECT_EQ(events[0].data, "first\nsecond");
    EXPECT_EQ(events[1].data, "no-space");
    EXPECT_EQ(events[1].id, "7");
    EXPECT_EQ(parser.pending_bytes(), 0u);
  }
}

TEST(Sse, IgnoresUnknownFieldsAndEventsWithoutData) {
  auto events = parse("retry: 100\nfoo: bar\n\nevent: x\n\ndata\n\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "");  // "data" with no colon: an empty data line
  EXPECT_EQ(events[0].event, "");
}

TEST(Sse, ReportsAnIncompleteTail) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(feed(parser, "data: complete\n\ndata: cut", &events).ok());
  EXPECT_EQ(events.size(), 1u);
  EXPECT_GT(parser.pending_bytes(), 0u);
}

TEST(Sse, BoundsEventSize) {
  SseParser parser(64);
  std::vector<SseEvent> events;
  Status st = feed(parser, "data: " + std::string(100, 'x'), &events);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(feed(parser, "\n\n", &events).code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace pdserve::server
