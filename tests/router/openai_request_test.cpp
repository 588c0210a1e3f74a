#include "router/openai_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pdserve::router {
namespace {

// A completions body with `extra` fields merged in (a JSON object text).
std::string completion(const std::string& extra = "{}") {
  nlohmann::json j = {{"model", "m"}, {"prompt", "hello"}};
  j.update(nlohmann::json::parse(extra));
  return j.dump();
}

ApiError completion_error(const std::string& extra) {
  auto r = parse_completion_request(completion(extra));
  EXPECT_FALSE(r.ok()) << extra;
  return r.ok() ? ApiError{} : r.error();
}

void expect_error(const std::string& extra, const std::string& param, const std::string& message) {
  ApiError e = completion_error(extra);
  EXPECT_EQ(e.http_status, 400) << extra;
  EXPECT_EQ(e.type, "invalid_request_error") << extra;
  EXPECT_EQ(e.param, param) << extra;
  EXPECT_EQ(e.message, message) << extra;
  EXPECT_EQ(e.code, "") << extra;
}

TEST(CompletionRequestTest, Defaults) {
  auto r = parse_completion_request(completion());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->endpoint, Endpoint::kCompletions);
  EXPECT_EQ(r->model, "m");
  ASSERT_EQ(r->prompts.size(), 1u);
  EXPECT_FALSE(r->prompts[0].is_tokens);
  EXPECT_EQ(r->prompts[0].text, "hello");
  EXPECT_FALSE(r->max_tokens.has_value());
  EXPECT_EQ(r->n, 1);
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->skip_special_tokens);
  EXPECT_EQ(r->sampling.num_logprobs, -1);
  EXPECT_FLOAT_EQ(r->sampling.temperature, 1.0f);
  EXPECT_TRUE(r->dropped_fields.empty());
}

TEST(CompletionRequestTest, AllFieldsRead) {
  auto r = parse_completion_request(completion(R"({
    "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
    "presence_penalty": -1.5, "frequency_penalty": 2, "repetition_penalty": 1.1, "seed": -3,
    "stop": ["a", "bc"], "stop_token_ids": [5, 6], "n": 3, "stream": true,
    "stream_options": {"include_usage": true}, "ignore_eos": true, "min_tokens": 2,
    "user": "u", "skip_special_tokens": false, "cache_salt": "s", "priority": -4,
    "echo": true, "logit_bias": {}, "unknown_extra": {"x": 1}})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r->max_tokens, 7);
  EXPECT_FLOAT_EQ(r->sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r->sampling.top_p, 0.9f);
  EXPECT_EQ(r->sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r->sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r->sampling.presence_penalty, -1.5f);
  EXPECT_FLOAT_EQ(r->sampling.frequency_penalty, 2.0f);
  EXPECT_FLOAT_EQ(r->sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(*r->sampling.seed, static_cast<uint64_t>(int64_t{-3}));
  EXPECT_EQ(r->stop, (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(r->sampling.stop_token_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(r->n, 3);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_TRUE(r->sampling.ignore_eos);
  EXPECT_EQ(r->sampling.min_tokens, 2);
  EXPECT_EQ(r->user, "u");
  EXPECT_FALSE(r->skip_special_tokens);
  EXPECT_EQ(r->cache_salt, "s");
  EXPECT_EQ(r->priority, -4);
  EXPECT_TRUE(r->echo);
}

TEST(CompletionRequestTest, NullIsAbsent) {
  auto r = parse_completion_request(completion(
      R"({"max_tokens": null, "temperature": null, "stop": null, "n": null, "seed": null,
          "stream_options": null, "logprobs": null, "user": null})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->max_tokens.has_value());
  EXPECT_FALSE(r->sampling.seed.has_value());
  EXPECT_EQ(r->n, 1);
}

TEST(CompletionRequestTest, TopKOffValues) {
  for (int k : {-1, 0}) {
    auto r = parse_completion_request(completion(R"({"top_k": )" + std::to_string(k) + "}"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->sampling.top_k, 0);
  }
  expect_error(R"({"top_k": -2})", "top_k",
               "'top_k' must be an integer in [-1, 2147483647], got -2");
}

TEST(CompletionRequestTest, IntegralFloatsAreIntegers) {
  auto r = parse_completion_request(completion(R"({"max_tokens": 5.0, "n": 2.0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->max_tokens, 5);
  expect_error(R"({"max_tokens": 5.5})", "max_tokens",
               "'max_tokens' must be an integer, got a number");
}

TEST(CompletionRequestTest, NumericBounds) {
  expect_error(R"({"temperature": -0.1})", "temperature",
               "'temperature' must be in [0, 2], got -0.1");
  expect_error(R"({"temperature": 2.5})", "temperature",
               "'temperature' must be in [0, 2], got 2.5");
  expect_error(R"({"top_p": 0})", "top_p", "'top_p' must be in (0, 1], got 0");
  expect_error(R"({"top_p": 1.5})", "top_p", "'top_p' must be in (0, 1], got 1.5");
  expect_error(R"({"min_p": 1.5})", "min_p", "'min_p' must be in [0, 1], got 1.5");
  expect_error(R"({"min_p": -1})", "min_p", "'min_p' must be in [0, 1], got -1");
  expect_error(R"({"presence_penalty": -3})", "presence_penalty",
               "'presence_penalty' must be in [-2, 2], got -3");
  expect_error(R"({"frequency_penalty": 2.5})", "frequency_penalty",
               "'frequency_penalty' must be in [-2, 2], got 2.5");
  expect_error(R"({"repetition_penalty": 0})", "repetition_penalty",
               "'repetition_penalty' must be in (0, 10], got 0");
  expect_error(R"({"max_tokens": 0})", "max_tokens",
               "'max_tokens' must be an integer in [1, 1048576], got 0");
  expect_error(R"({"n": 0})", "n", "'n' must be an integer in [1, 16], got 0");
  expect_error(R"({"n": 17})", "n", "'n' must be an integer in [1, 16], got 17");
  expect_error(R"({"logprobs": 21})", "logprobs",
               "'logprobs' must be an integer in [0, 20], got 21");
  expect_error(R"({"logprobs": -1})", "logprobs",
               "'logprobs' must be an integer in [0, 20], got -1");
  expect_error(R"({"min_tokens": -1})", "min_tokens",
               "'min_tokens' must be an integer in [0, 1048576], got -1");
  expect_error(R"({"min_tokens": 5, "max_tokens": 4})", "min_tokens",
               "'min_tokens' must be at most 'max_tokens' (4), got 5");
  expect_error(R"({"priority": 3000000000})", "priority",
               "'priority' must be an integer in [-2147483648, 2147483647], got 3000000000");
  expect_error(R"({"seed": 18446744073709551615})", "seed",
               "'seed' must be an integer in [-9223372036854775808, 9223372036854775807], got "
               "18446744073709551615");
}

TEST(CompletionRequestTest, TypeErrorsNameFieldAndType) {
  expect_error(R"({"temperature": "hot"})", "temperature",
               "'temperature' must be a number, got a string");
  expect_error(R"({"top_p": true})", "top_p", "'top_p' must be a number, got a boolean");
  expect_error(R"({"max_tokens": "5"})", "max_tokens",
               "'max_tokens' must be an integer, got a string");
  expect_error(R"({"n": true})", "n", "'n' must be an integer, got a boolean");
  expect_error(R"({"stream": 1})", "stream", "'stream' must be a boolean, got an integer");
  expect_error(R"({"echo": "yes"})", "echo", "'echo' must be a boolean, got a string");
  expect_error(R"({"ignore_eos": 0})", "ignore_eos",
               "'ignore_eos' must be a boolean, got an integer");
  expect_error(R"({"skip_special_tokens": []})", "skip_special_tokens",
               "'skip_special_tokens' must be a boolean, got an array");
  expect_error(R"({"user": 5})", "user", "'user' must be a string, got an integer");
  expect_error(R"({"cache_salt": {}})", "cache_salt",
               "'cache_salt' must be a string, got an object");
  expect_error(R"({"model": 5})", "model", "'model' must be a string, got an integer");
  expect_error(R"({"seed": 1.5})", "seed", "'seed' must be an integer, got a number");
  expect_error(R"({"stream_options": true, "stream": true})", "stream_options",
               "'stream_options' must be an object, got a boolean");
  expect_error(R"({"stream_options": {"include_usage": 1}, "stream": true})",
               "stream_options.include_usage",
               "'stream_options.include_usage' must be a boolean, got an integer");
  expect_error(R"({"logit_bias": []})", "logit_bias",
               "'logit_bias' must be an object, got an array");
}

TEST(CompletionRequestTest, StreamOptionsNeedStream) {
  expect_error(R"({"stream_options": {"include_usage": true}})", "stream_options",
               "'stream_options' can only be set when 'stream' is true");
}

TEST(CompletionRequestTest, Stop) {
  const std::string bound =
      "'stop' must be a string or an array of at most 4 non-empty strings of at most 256 bytes";
  auto r = parse_completion_request(completion(R"({"stop": "END"})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop, std::vector<std::string>{"END"});
  expect_error(R"({"stop": ""})", "stop", bound);
  expect_error(R"({"stop": ["a", ""]})", "stop", bound);
  expect_error(R"({"stop": ["a", "b", "c", "d", "e"]})", "stop", bound);
  expect_error(R"({"stop": ")" + std::string(257, 'x') + R"("})", "stop", bound);
  expect_error(R"({"stop": 5})", "stop",
               "'stop' must be a string or an array of strings, got an integer");
  expect_error(R"({"stop": ["a", 5]})", "stop", "'stop' entries must be strings, got an integer");
  ApiLimits limits;
  limits.max_stop_strings = 8;
  EXPECT_TRUE(
      parse_completion_request(completion(R"({"stop": ["a","b","c","d","e"]})"), limits).ok());
}

TEST(CompletionRequestTest, StopTokenIds) {
  const std::string bound =
      "'stop_token_ids' must be an array of at most 256 non-negative 32-bit integers";
  expect_error(R"({"stop_token_ids": [-1]})", "stop_token_ids", bound);
  expect_error(R"({"stop_token_ids": ["a"]})", "stop_token_ids", bound);
  expect_error(R"({"stop_token_ids": 5})", "stop_token_ids", bound);
  std::string many = "[";
  for (int i = 0; i < 257; ++i) many += (i ? ",1" : "1");
  expect_error(R"({"stop_token_ids": )" + many + "]}", "stop_token_ids", bound);
}

TEST(CompletionRequestTest, PromptForms) {
  auto one = parse_completion_request(R"({"model":"m","prompt":[1,2,3]})");
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_EQ(one->prompts.size(), 1u);
  EXPECT_TRUE(one->prompts[0].is_tokens);
  EXPECT_EQ(one->prompts[0].token_ids, (std::vector<int32_t>{1, 2, 3}));

  auto texts = parse_completion_request(R"({"model":"m","prompt":["a","b"]})");
  ASSERT_TRUE(texts.ok());
  ASSERT_EQ(texts->prompts.size(), 2u);
  EXPECT_EQ(texts->prompts[1].text, "b");

  auto ids = parse_completion_request(R"({"model":"m","prompt":[[1],[2,3]]})");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->prompts.size(), 2u);
  EXPECT_EQ(ids->prompts[1].token_ids, (std::vector<int32_t>{2, 3}));
}

TEST(CompletionRequestTest, PromptErrors) {
  auto err = [](const std::string& body) {
    auto r = parse_completion_request(body);
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.ok() ? "" : r.error().param, "prompt") << body;
    return r.ok() ? std::string() : r.error().message;
  };
  EXPECT_EQ(err(R"({"model":"m"})"), "'prompt' is required");
  EXPECT_EQ(err(R"({"model":"m","prompt":null})"), "'prompt' is required");
  EXPECT_EQ(err(R"({"model":"m","prompt":""})"), "'prompt' must not be empty");
  EXPECT_EQ(err(R"({"model":"m","prompt":[]})"), "'prompt' must not be empty");
  EXPECT_EQ(err(R"({"model":"m","prompt":[[]]})"), "'prompt' must not be empty");
  EXPECT_EQ(err(R"({"model":"m","prompt":["a",""]})"), "'prompt' must not be empty");
  EXPECT_EQ(err(R"({"model":"m","prompt":5})"),
            "'prompt' must be a string, an array of strings, an array of token ids or an array "
            "of arrays of token ids, got an integer");
  EXPECT_EQ(err(R"({"model":"m","prompt":[1,-2]})"),
            "'prompt' token ids must be non-negative 32-bit integers, at most 1048576 per prompt");
  EXPECT_EQ(err(R"({"model":"m","prompt":[1,"a"]})"),
            "'prompt' token ids must be non-negative 32-bit integers, at most 1048576 per prompt");
  EXPECT_EQ(err(R"({"model":"m","prompt":[1,4294967296]})"),
            "'prompt' token ids must be non-negative 32-bit integers, at most 1048576 per prompt");
  EXPECT_EQ(err(R"({"model":"m","prompt":["a",[1]]})"),
            "'prompt' arrays must not mix strings and token ids");
  EXPECT_EQ(err(R"({"model":"m","prompt":[{"a":1}]})"),
            "'prompt' arrays must hold only strings or only arrays of token ids, got an object");
  ApiLimits limits;
  limits.max_prompts = 2;
  auto many = parse_completion_request(R"({"model":"m","prompt":["a","b","c"]})", limits);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().message, "'prompt' holds more than 2 prompts");
  auto choices = parse_completion_request(R"({"model":"m","prompt":["a","b","c","d","e"],"n":16})");
  ASSERT_FALSE(choices.ok());
  EXPECT_EQ(choices.error().param, "n");
  EXPECT_EQ(choices.error().message, "'n' times the number of prompts (80) must be at most 64");
  limits.max_prompt_tokens = 2;
  EXPECT_FALSE(parse_completion_request(R"({"model":"m","prompt":[1,2,3]})", limits).ok());
}

TEST(CompletionRequestTest, BodyErrors) {
  auto r = parse_completion_request("not json");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().http_status, 400);
  EXPECT_EQ(r.error().message, "the request body is not valid JSON");
  EXPECT_EQ(r.error().param, "");
  r = parse_completion_request("[1]");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "the request body must be a JSON object");
  r = parse_completion_request(R"({"prompt":"x"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().param, "model");
  EXPECT_EQ(r.error().message, "'model' is required");
  std::string deep =
      R"({"model":"m","prompt":"x","x":)" + std::string(100, '[') + std::string(100, ']') + "}";
  r = parse_completion_request(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "the request body is nested deeper than 64 levels");
  r = parse_completion_request("{\"model\":\"m\",\"prompt\":\"\xff\"}");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "the request body is not valid JSON");
}

TEST(CompletionRequestTest, EchoWithLogprobsIsRejected) {
  expect_error(R"({"echo": true, "logprobs": 1})", "echo",
               "'echo' together with 'logprobs' (prompt logprobs) is not supported");
  auto r = parse_completion_request(completion(R"({"logprobs": 0})"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sampling.num_logprobs, 0);
}

TEST(CompletionRequestTest, LogitBiasIsRejected) {
  expect_error(R"({"logit_bias": {"5": 10}})", "logit_bias", "'logit_bias' is not supported");
}

TEST(CompletionRequestTest, InternalPlaneFieldsAreDropped) {
  auto r = parse_completion_request(completion(
      R"({"prefill": {"host": "10.0.0.1", "port": 1}, "prefill_mode": "remote",
          "block_ids": [1, 2], "kv_target": {}, "kv_transfer_params": {}, "decode_worker": "x",
          "peer": "p", "request_id": "r", "some_blocks": 1, "extra_ok": 1})"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> dropped = r->dropped_fields;
  std::sort(dropped.begin(), dropped.end());
  EXPECT_EQ(dropped, (std::vector<std::string>{"block_ids", "decode_worker", "kv_target",
                                               "kv_transfer_params", "peer", "prefill",
                                               "prefill_mode", "request_id", "some_blocks"}));
  EXPECT_TRUE(is_internal_plane_field("prefill"));
  EXPECT_FALSE(is_internal_plane_field("temperature"));
  EXPECT_FALSE(is_internal_plane_field("extra_ok"));
}

TEST(FinalizeSamplingTest, FillsMaxTokensOrRejectsLongPrompts) {
  auto absent = parse_completion_request(completion());
  ASSERT_TRUE(absent.ok());
  auto s = finalize_sampling(absent.value(), 10, 100);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->max_tokens, 90);

  auto full = finalize_sampling(absent.value(), 100, 100);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, "context_length_exceeded");
  EXPECT_EQ(full.error().param, "prompt");
  EXPECT_EQ(full.error().message,
            "This model's maximum context length is 100 tokens. However, you requested 100 tokens "
            "in the prompt, which leaves no room for the completion. Please reduce the length of "
            "the prompt.");

  auto asked = parse_completion_request(completion(R"({"max_tokens": 50, "min_tokens": 3})"));
  ASSERT_TRUE(asked.ok());
  s = finalize_sampling(asked.value(), 50, 100);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->max_tokens, 50);
  EXPECT_EQ(s->min_tokens, 3);
  auto over = finalize_sampling(asked.value(), 51, 100);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().http_status, 400);
  EXPECT_EQ(over.error().code, "context_length_exceeded");
  EXPECT_EQ(over.error().message,
            "This model's maximum context length is 100 tokens. However, you requested 101 tokens "
            "(51 in the prompt, 50 in the completion). Please reduce the length of the prompt or "
            "completion.");

  auto min_only = parse_completion_request(completion(R"({"min_tokens": 20})"));
  ASSERT_TRUE(min_only.ok());
  auto m = finalize_sampling(min_only.value(), 90, 100);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().param, "min_tokens");
}

TEST(ApiErrorTest, ErrorBody) {
  ApiError e = invalid_request("n", "'n' must be an integer in [1, 16], got 0");
  auto j = nlohmann::json::parse(to_error_body(e));
  EXPECT_EQ(j["error"]["message"], "'n' must be an integer in [1, 16], got 0");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "n");
  EXPECT_TRUE(j["error"]["code"].is_null());
  auto c = nlohmann::json::parse(to_error_body(context_length_exceeded(10, 11, -1, "messages")));
  EXPECT_EQ(c["error"]["code"], "context_length_exceeded");
  EXPECT_EQ(c["error"]["param"], "messages");
  ApiError s = api_error_from_status(unavailable("no decode worker"));
  EXPECT_EQ(s.http_status, 503);
  EXPECT_EQ(s.type, "server_error");
  auto sj = nlohmann::json::parse(to_error_body(s));
  EXPECT_TRUE(sj["error"]["param"].is_null());
}

TEST(CompletionRequestTest, TokenIdsAgainstVocabulary) {
  auto r =
      parse_completion_request(R"({"model":"m","prompt":[[1,2],[3,99]],"stop_token_ids":[5]})");
  ASSERT_TRUE(r.ok());
  auto e = check_token_ids(r.value(), 99);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->param, "prompt");
  EXPECT_EQ(e->message, "token id 99 is out of vocabulary (the model has 99 tokens)");
  EXPECT_FALSE(check_token_ids(r.value(), 100).has_value());
  auto st = parse_completion_request(R"({"model":"m","prompt":"x","stop_token_ids":[100]})");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(check_token_ids(st.value(), 100).has_value());
  EXPECT_EQ(check_token_ids(st.value(), 100)->param, "stop_token_ids");
}

TEST(CompletionRequestTest, ChoiceSeedsDiffer) {
  protocol::SamplingParams s;
  EXPECT_FALSE(choice_sampling(s, 3).seed.has_value());
  s.seed = 10;
  EXPECT_EQ(*choice_sampling(s, 0).seed, 10u);
  EXPECT_EQ(*choice_sampling(s, 3).seed, 13u);
}

TEST(ApiErrorTest, ModelNotFound) {
  ApiError e = model_not_found("gpt-9");
  EXPECT_EQ(e.http_status, 404);
  auto j = nlohmann::json::parse(to_error_body(e));
  EXPECT_EQ(j["error"]["message"], "The model 'gpt-9' does not exist.");
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_EQ(j["error"]["param"], "model");
  EXPECT_EQ(j["error"]["code"], "model_not_found");
}

// A worker's failure reaches the client without internal addresses or
// settings; a refusal of the request itself keeps its message.
TEST(ApiErrorTest, WorkerFailuresAreGenericForClients) {
  const std::string detail = "decode worker 10.0.0.7:8001: connection refused";
  for (int status : {429, 500, 502, 503, 504, 401, 403}) {
    ApiError e = worker_failure(status, detail);
    EXPECT_EQ(e.message.find("10.0.0.7"), std::string::npos) << status << ": " << e.message;
    EXPECT_EQ(e.message.find("refused"), std::string::npos) << status << ": " << e.message;
    if (e.http_status >= 500) {
      EXPECT_EQ(e.type, "server_error") << status;
    }
  }
  EXPECT_EQ(worker_failure(429, detail).http_status, 429);
  EXPECT_EQ(worker_failure(503, detail).http_status, 503);
  EXPECT_EQ(worker_failure(500, detail).http_status, 500);
  EXPECT_EQ(worker_failure(401, detail).http_status, 502);
  ApiError bad = worker_failure(400, "prompt of 5000 tokens is longer than the context");
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.message, "prompt of 5000 tokens is longer than the context");
}

TEST(CompletionRequestTest, OutputChangingFieldsAreRejected) {
  expect_error(R"({"suffix": "x"})", "suffix", "'suffix' is not supported");
  expect_error(R"({"best_of": 3})", "best_of", "'best_of' other than 1 or 'n' is not supported");
  expect_error(R"({"best_of": 0})", "best_of",
               "'best_of' must be an integer in [1, 2147483647], got 0");
  EXPECT_TRUE(parse_completion_request(completion(R"({"best_of": 2, "n": 2})")).ok());
  expect_error(R"({"response_format": {}})", "response_format.type",
               "'response_format.type' must be a string");
  EXPECT_TRUE(
      parse_completion_request(completion(R"({"response_format": {"type": "text"}})")).ok());
}

TEST(CompletionRequestTest, TokenizationAndDetokenizationOptions) {
  auto r = parse_completion_request(completion());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->add_special_tokens);
  EXPECT_TRUE(r->spaces_between_special_tokens);
  EXPECT_FALSE(r->include_stop_str_in_output);
  r = parse_completion_request(completion(
      R"({"add_special_tokens": false, "spaces_between_special_tokens": false,
          "include_stop_str_in_output": true})"));
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->add_special_tokens);
  EXPECT_FALSE(r->spaces_between_special_tokens);
  EXPECT_TRUE(r->include_stop_str_in_output);
  expect_error(R"({"add_special_tokens": 1})", "add_special_tokens",
               "'add_special_tokens' must be a boolean, got an integer");
}

TEST(CompletionRequestTest, DefaultCompletionMaxTokens) {
  ApiLimits limits;
  limits.default_completion_max_tokens = 16;
  auto r = parse_completion_request(completion(), limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->max_tokens, 16);
  r = parse_completion_request(completion(R"({"max_tokens": 3})"), limits);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->max_tokens, 3);
}

}  // namespace
}  // namespace pdserve::router
