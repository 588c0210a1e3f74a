// Reading a streamed OpenAI answer into a record, with made-up times.
#include "bench/openai_stream.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pdserve::bench {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const Clock::time_point t0 = Clock::time_point() + std::chrono::hours(1);

TEST(StreamReaderTest, CompletionsTimesContentChunksAndTakesUsage) {
  RequestRecord r;
  StreamReader s(Endpoint::kCompletions, t0, &r);
  EXPECT_TRUE(s.on_data(R"({"choices":[{"index":0,"text":"","finish_reason":null}]})",
                        t0 + milliseconds(50)));
  EXPECT_TRUE(
      s.on_data(R"({"choices":[{"index":0,"text":"Hel","finish_reason":null}],"usage":null})",
                t0 + milliseconds(100)));
  EXPECT_TRUE(s.on_data(R"({"choices":[{"index":0,"text":"lo","finish_reason":null}]})",
                        t0 + milliseconds(130)));
  EXPECT_TRUE(s.on_data(R"({"choices":[{"index":0,"text":"!","finish_reason":"length"}]})",
                        t0 + milliseconds(170)));
  EXPECT_TRUE(s.on_data(
      R"({"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}})",
      t0 + milliseconds(171)));
  EXPECT_TRUE(s.on_data("[DONE]", t0 + milliseconds(172)));
  s.finish(ok_status(), 200, "", t0 + milliseconds(180));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft_s, 0.1);
  ASSERT_EQ(r.itl_s.size(), 2u);
  EXPECT_NEAR(r.itl_s[0], 0.03, 1e-9);
  EXPECT_NEAR(r.itl_s[1], 0.04, 1e-9);
  EXPECT_DOUBLE_EQ(r.e2e_s, 0.18);
  EXPECT_EQ(r.output_len, 3);
  EXPECT_TRUE(r.usage_reported);
  EXPECT_EQ(r.usage_prompt_tokens, 7);
  EXPECT_EQ(r.generated_text, "Hello!");
  EXPECT_EQ(r.http_status, 200);
}

TEST(StreamReaderTest, ChatReadsDeltaContent) {
  RequestRecord r;
  StreamReader s(Endpoint::kChatCompletions, t0, &r);
  EXPECT_TRUE(s.on_data(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
                        t0 + milliseconds(5)));
  EXPECT_TRUE(
      s.on_data(R"({"choices":[{"index":0,"delta":{"content":"a"}}]})", t0 + milliseconds(20)));
  EXPECT_TRUE(
      s.on_data(R"({"choices":[{"index":0,"delta":{"content":"b"}}]})", t0 + milliseconds(30)));
  EXPECT_TRUE(s.on_data(R"({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})",
                        t0 + milliseconds(31)));
  EXPECT_TRUE(s.on_data("[DONE]", t0 + milliseconds(32)));
  s.finish(ok_status(), 200, "", t0 + milliseconds(32));
  EXPECT_TRUE(r.success);
  EXPECT_DOUBLE_EQ(r.ttft_s, 0.02);
  ASSERT_EQ(r.itl_s.size(), 1u);
  EXPECT_FALSE(r.usage_reported);
  EXPECT_EQ(r.generated_text, "ab");
}

TEST(StreamReaderTest, ErrorEventMidStreamFails) {
  RequestRecord r;
  StreamReader s(Endpoint::kCompletions, t0, &r);
  EXPECT_TRUE(s.on_data(R"({"choices":[{"text":"x"}]})", t0 + milliseconds(1)));
  EXPECT_FALSE(
      s.on_data(R"({"error":{"message":"decode worker lost","type":"server_error","code":503}})",
                t0 + milliseconds(2)));
  s.finish(cancelled("stopped"), 200, "", t0 + milliseconds(3));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.error, "error event: decode worker lost");
}

TEST(StreamReaderTest, HttpErrorTakesTheOpenAiMessage) {
  RequestRecord r;
  StreamReader s(Endpoint::kCompletions, t0, &r);
  s.finish(
      invalid_argument("HTTP 400"), 400,
      R"({"error":{"message":"The model 'x' does not exist.","type":"invalid_request_error","param":"model","code":"model_not_found"}})",
      t0 + milliseconds(4));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.http_status, 400);
  EXPECT_EQ(r.error, "The model 'x' does not exist.");
}

TEST(StreamReaderTest, TransportFailureAndMissingDoneFail) {
  RequestRecord refused;
  StreamReader a(Endpoint::kCompletions, t0, &refused);
  a.finish(unavailable("connection refused"), 0, "", t0);
  EXPECT_FALSE(refused.success);
  EXPECT_EQ(refused.error, "UNAVAILABLE: connection refused");

  RequestRecord cut;
  StreamReader b(Endpoint::kCompletions, t0, &cut);
  EXPECT_TRUE(b.on_data(R"({"choices":[{"text":"x"}]})", t0 + milliseconds(1)));
  b.finish(ok_status(), 200, "", t0 + milliseconds(2));
  EXPECT_FALSE(cut.success);
  EXPECT_EQ(cut.error, "the stream ended without data: [DONE]");

  RequestRecord junk;
  StreamReader c(Endpoint::kCompletions, t0, &junk);
  EXPECT_FALSE(c.on_data("not json", t0));
  EXPECT_EQ(junk.error, "malformed chunk: not json");
}

TEST(StreamReaderTest, InternalEventsCountTokenIds) {
  RequestRecord r;
  StreamReader s(Endpoint::kInternalGenerate, t0, &r);
  EXPECT_TRUE(s.on_data(R"({"num_prompt_tokens":5,"prefill_location":"local","token_ids":[7]})",
                        t0 + milliseconds(40)));
  EXPECT_TRUE(s.on_data(R"({"token_ids":[8,9]})", t0 + milliseconds(60)));
  EXPECT_TRUE(s.on_data(R"({"finish_reason":"length","num_prompt_tokens":5,"token_ids":[10]})",
                        t0 + milliseconds(75)));
  EXPECT_TRUE(s.on_data("[DONE]", t0 + milliseconds(76)));
  s.finish(ok_status(), 200, "", t0 + milliseconds(80));
  EXPECT_TRUE(r.success) << r.error;
  EXPECT_DOUBLE_EQ(r.ttft_s, 0.04);
  ASSERT_EQ(r.itl_s.size(), 2u);
  EXPECT_NEAR(r.itl_s[0], 0.02, 1e-9);
  EXPECT_EQ(r.output_len, 4);
  RequestRecord bad;
  StreamReader e(Endpoint::kInternalGenerate, t0, &bad);
  EXPECT_FALSE(e.on_data(R"({"error":{"http_status":429,"message":"queue full"}})", t0));
  EXPECT_FALSE(bad.success);
}

TEST(RequestBodyTest, InternalGenerateRequest) {
  BenchRequest req;
  req.prompt_ids = {3, 4, 5};
  req.output_len = 9;
  BodyOptions o;
  o.endpoint = Endpoint::kInternalGenerate;
  o.temperature = 0.5;
  nlohmann::json a = nlohmann::json::parse(request_body(req, o));
  nlohmann::json b = nlohmann::json::parse(request_body(req, o));
  EXPECT_EQ(a["version"], 1);
  EXPECT_EQ(a["prompt_ids"], nlohmann::json({3, 4, 5}));
  EXPECT_EQ(a["sampling"]["max_tokens"], 9);
  EXPECT_EQ(a["sampling"]["ignore_eos"], true);
  EXPECT_DOUBLE_EQ(a["sampling"]["temperature"].get<double>(), 0.5);
  EXPECT_NE(a["request_id"], b["request_id"]);  // unique per request
}

TEST(ErrorMessageTest, PlainBodiesAreCutToOneLine) {
  EXPECT_EQ(error_message_of("Bad Gateway\nnginx"), "Bad Gateway nginx");
  EXPECT_EQ(error_message_of(R"({"error":"nope"})"), "nope");
  EXPECT_EQ(error_message_of(std::string(300, 'x')).size(), 203u);
}

TEST(RequestBodyTest, CompletionsWithTokenIdsAndChatWithText) {
  BenchRequest r;
  r.prompt_ids = {5, 6, 7};
  r.prompt_text = "five six seven";
  r.system_text = "shared";
  r.output_len = 16;
  BodyOptions o;
  o.model = "m";
  auto c = nlohmann::json::parse(request_body(r, o));
  EXPECT_EQ(c["model"], "m");
  EXPECT_EQ(c["prompt"], nlohmann::json::array({5, 6, 7}));
  EXPECT_EQ(c["max_tokens"], 16);
  EXPECT_EQ(c["stream"], true);
  EXPECT_EQ(c["stream_options"]["include_usage"], true);
  EXPECT_EQ(c["ignore_eos"], true);
  EXPECT_EQ(c["temperature"], 0.0);

  o.endpoint = Endpoint::kChatCompletions;
  o.ignore_eos = false;
  auto chat = nlohmann::json::parse(request_body(r, o));
  EXPECT_FALSE(chat.contains("ignore_eos"));
  EXPECT_FALSE(chat.contains("prompt"));
  EXPECT_EQ(chat["max_completion_tokens"], 16);
  ASSERT_EQ(chat["messages"].size(), 2u);
  EXPECT_EQ(chat["messages"][0]["role"], "system");
  EXPECT_EQ(chat["messages"][0]["content"], "shared");
  EXPECT_EQ(chat["messages"][1]["content"], "five six seven");

  BenchRequest text_only;
  text_only.prompt_text = "a ShareGPT question";
  text_only.output_len = 3;
  o.endpoint = Endpoint::kCompletions;
  EXPECT_EQ(nlohmann::json::parse(request_body(text_only, o))["prompt"], "a ShareGPT question");
}

}  // namespace
}  // namespace pdserve::bench
