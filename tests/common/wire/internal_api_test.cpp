#include "common/wire/internal_api.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "common/wire/decode_step_event.h"

namespace pdserve::server::internal {
namespace {

TEST(InternalApiTest, GenerateRequestRoundTrips) {
  GenerateRequest g;
  g.request_id = "cmpl-1";
  g.prompt_ids = {1, 2, 3};
  g.sampling.temperature = 0.5f;
  g.sampling.seed = 42;
  g.sampling.num_logprobs = 3;
  g.sampling.stop_token_ids = {7};
  g.prefill = WorkerAddress{"127.0.0.1", 9000};
  g.prefill_mode = "remote";
  auto back = parse_generate_request(to_json(g));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->prompt_ids, g.prompt_ids);
  EXPECT_EQ(back->sampling.seed, 42u);
  EXPECT_EQ(back->sampling.stop_token_ids, std::vector<int32_t>{7});
  EXPECT_EQ(back->prefill->port, 9000);
  EXPECT_EQ(back->prefill_mode, "remote");
}

// The requests are written as text (json_writer.h): every field, at values
// that need escaping, every digit or the edge of their range, reads back
// the same.
TEST(InternalApiTest, EveryFieldOfTheRequestsReadsBackTheSame) {
  protocol::PromptRequest prompt;
  prompt.prompt_ids = {0, 2147483647, 5};
  prompt.cache_salt = "salt \"quoted\" \\ \n\t\x01 caf\xc3\xa9";
  prompt.priority = -7;
  protocol::SamplingParams& s = prompt.sampling;
  s.temperature = 0.7f;
  s.top_k = 40;
  s.top_p = 0.123456789f;
  s.min_p = 1e-7f;
  s.repetition_penalty = 1.1f;
  s.presence_penalty = -2.0f;
  s.frequency_penalty = 0.3f;
  s.seed = UINT64_MAX;
  s.num_logprobs = 5;
  s.max_tokens = 1 << 20;
  s.min_tokens = 3;
  s.ignore_eos = true;
  s.stop_token_ids = {2, 9};
  auto c = std::make_shared<protocol::OutputConstraint>();
  c->kind = protocol::OutputConstraint::Kind::kJsonSchema;
  c->text = R"({"type": "string", "pattern": "^a\\b\"$"})";
  c->choices = {"x\ny", ""};
  s.constraint = c;
  auto same_prompt = [&](const protocol::PromptRequest& back) {
    EXPECT_EQ(back.prompt_ids, prompt.prompt_ids);
    EXPECT_EQ(back.cache_salt, prompt.cache_salt);
    EXPECT_EQ(back.priority, prompt.priority);
    const protocol::SamplingParams& b = back.sampling;
    EXPECT_EQ(std::bit_cast<uint32_t>(b.temperature), std::bit_cast<uint32_t>(s.temperature));
    EXPECT_EQ(b.top_k, s.top_k);
    EXPECT_EQ(std::bit_cast<uint32_t>(b.top_p), std::bit_cast<uint32_t>(s.top_p));
    EXPECT_EQ(std::bit_cast<uint32_t>(b.min_p), std::bit_cast<uint32_t>(s.min_p));
    EXPECT_EQ(std::bit_cast<uint32_t>(b.repetition_penalty),
              std::bit_cast<uint32_t>(s.repetition_penalty));
    EXPECT_EQ(b.presence_penalty, s.presence_penalty);
    EXPECT_EQ(std::bit_cast<uint32_t>(b.frequency_penalty),
              std::bit_cast<uint32_t>(s.frequency_penalty));
    EXPECT_EQ(b.seed, s.seed);
    EXPECT_EQ(b.num_logprobs, s.num_logprobs);
    EXPECT_EQ(b.max_tokens, s.max_tokens);
    EXPECT_EQ(b.min_tokens, s.min_tokens);
    EXPECT_EQ(b.ignore_eos, s.ignore_eos);
    EXPECT_EQ(b.stop_token_ids, s.stop_token_ids);
    ASSERT_TRUE(b.constraint);
    EXPECT_EQ(b.constraint->kind, c->kind);
    EXPECT_EQ(b.constraint->text, c->text);
    EXPECT_EQ(b.constraint->choices, c->choices);
  };

  GenerateRequest g;
  static_cast<protocol::PromptRequest&>(g) = prompt;
  g.request_id = "cmpl-\"odd\" id";
  g.prefill_mode = "local";
  g.prefill = WorkerAddress{"host.example", 65535};
  Result<GenerateRequest> gb = parse_generate_request(to_json(g));
  ASSERT_TRUE(gb.ok()) << to_json(g) << ": " << gb.status().to_string();
  same_prompt(*gb);
  EXPECT_EQ(gb->request_id, g.request_id);
  EXPECT_EQ(gb->prefill_mode, "local");
  ASSERT_TRUE(gb->prefill);
  EXPECT_EQ(gb->prefill->host, "host.example");
  EXPECT_EQ(gb->prefill->port, 65535);
  g.prefill.reset();
  gb = parse_generate_request(to_json(g));
  ASSERT_TRUE(gb.ok()) << gb.status().to_string();
  EXPECT_FALSE(gb->prefill);

  PrefillRequest p;
  static_cast<protocol::PromptRequest&>(p) = prompt;
  p.request_id = "r-1";
  p.deadline_ms = INT64_MAX;
  p.target = {"meta \"data\"", "key", {UINT64_MAX, 0}, uint64_t{1} << 40, {3, 0}, 2, UINT64_MAX};
  Result<PrefillRequest> pb = parse_prefill_request(to_json(p));
  ASSERT_TRUE(pb.ok()) << to_json(p) << ": " << pb.status().to_string();
  same_prompt(*pb);
  EXPECT_EQ(pb->request_id, p.request_id);
  EXPECT_EQ(pb->deadline_ms, p.deadline_ms);
  EXPECT_EQ(pb->target.agent_metadata, p.target.agent_metadata);
  EXPECT_EQ(pb->target.compat_key, p.target.compat_key);
  EXPECT_EQ(pb->target.layer_regions, p.target.layer_regions);
  EXPECT_EQ(pb->target.block_bytes, p.target.block_bytes);
  EXPECT_EQ(pb->target.block_ids, p.target.block_ids);
  EXPECT_EQ(pb->target.first_block, p.target.first_block);
  EXPECT_EQ(pb->target.epoch, p.target.epoch);
}

TEST(InternalApiTest, ConstraintTravelsWithTheSampling) {
  GenerateRequest g;
  g.request_id = "chatcmpl-1";
  g.prompt_ids = {1};
  auto c = std::make_shared<protocol::OutputConstraint>();
  c->kind = protocol::OutputConstraint::Kind::kChoice;
  c->choices = {"yes", "no"};
  g.sampling.constraint = c;
  auto back = parse_generate_request(to_json(g));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  ASSERT_TRUE(back->sampling.constraint);
  EXPECT_EQ(back->sampling.constraint->kind, protocol::OutputConstraint::Kind::kChoice);
  EXPECT_EQ(back->sampling.constraint->choices, c->choices);

  PrefillRequest p;
  p.request_id = "r";
  p.prompt_ids = {1, 2};
  p.target = {"meta", "key", {11}, 4096, {3}, 0, 1};
  c->kind = protocol::OutputConstraint::Kind::kRegex;
  c->text = "[a-z]+";
  c->choices.clear();
  p.sampling.constraint = c;
  auto pback = parse_prefill_request(to_json(p));
  ASSERT_TRUE(pback.ok()) << pback.status().to_string();
  ASSERT_TRUE(pback->sampling.constraint);
  EXPECT_EQ(pback->sampling.constraint->cache_key(), c->cache_key());

  g.sampling.constraint = nullptr;
  EXPECT_FALSE(parse_generate_request(to_json(g))->sampling.constraint);
}

TEST(InternalApiTest, BadConstraintNamesTheField) {
  EXPECT_EQ(parse_generate_request(R"({"request_id":"a","prompt_ids":[1],"sampling":
                {"max_tokens":1,"constraint":{"kind":"xml"}}})")
                .status()
                .message(),
            "generate.sampling.constraint.kind 'xml' is unknown");
  EXPECT_EQ(parse_generate_request(R"({"request_id":"a","prompt_ids":[1],"sampling":
                {"max_tokens":1,"constraint":{"kind":"choice","choices":[1]}}})")
                .status()
                .message(),
            "generate.sampling.constraint.choices must hold strings");
}

TEST(InternalApiTest, BadInputsNameTheField) {
  EXPECT_EQ(parse_generate_request("not json").status().message(),
            "generate request: body is not valid JSON");
  EXPECT_EQ(parse_generate_request(R"({"request_id":"a","prompt_ids":[1]})").status().message(),
            "generate.sampling is missing");
  EXPECT_EQ(
      parse_generate_request(R"({"request_id":"a","prompt_ids":[-1],"sampling":{"max_tokens":1}})")
          .status()
          .message(),
      "generate.prompt_ids must hold non-negative 32-bit token ids");
  EXPECT_EQ(parse_generate_request(
                R"({"request_id":"a","prompt_ids":[1],"sampling":{"max_tokens":1,"top_p":0}})")
                .status()
                .message(),
            "generate.sampling: top_p must be in (0, 1]");
  EXPECT_EQ(parse_generate_request(R"({"version":2})").status().message(),
            "generate request: internal API version 2 (this is 1)");
}

// The plain token event ({"token_ids":[...]}, read without a json value)
// must agree with the full parser on every input: same ids, same refusals.
TEST(InternalApiTest, PlainTokenEventsAgreeWithTheFullParser) {
  for (const std::vector<int32_t>& ids :
       {std::vector<int32_t>{}, {0}, {7, 42, 2147483647}, {1, 0, 10, 100}}) {
    GenerateEvent e;
    e.token_ids = ids;
    Result<GenerateEvent> got = parse_generate_event(to_json(e));
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(got->token_ids, ids);
    EXPECT_TRUE(got->finish_reason.empty());
    EXPECT_FALSE(got->error.has_value());
  }
  // Read into one event reused for each (as the router does): the same ids,
  // nothing left over from the event before (a finish, logprobs, an error).
  GenerateEvent reused;
  reused.finish_reason = "stop";
  reused.stop_token_id = 3;
  reused.logprobs = {{-0.5f, {{5, -0.5f}}}};
  reused.error = ErrorInfo{500, "before"};
  for (const std::vector<int32_t>& ids : {std::vector<int32_t>{9, 8, 7}, {}, {4}}) {
    GenerateEvent e;
    e.token_ids = ids;
    ASSERT_TRUE(parse_generate_event(to_json(e), &reused).ok());
    EXPECT_EQ(reused.token_ids, ids);
    EXPECT_TRUE(reused.finish_reason.empty());
    EXPECT_FALSE(reused.stop_token_id.has_value());
    EXPECT_TRUE(reused.logprobs.empty());
    EXPECT_FALSE(reused.error.has_value());
  }
  // Refused by both (the fast path leaves these to the full parser).
  for (const char* bad :
       {R"({"token_ids":[01]})", R"({"token_ids":[2147483648]})", R"({"token_ids":[-1]})",
        R"({"token_ids":[1,]})", R"({"token_ids":[,1]})", R"({"token_ids":[99999999999]})"})
    EXPECT_FALSE(parse_generate_event(bad).ok()) << bad;
  // Accepted by the full parser in other spellings.
  Result<GenerateEvent> spaced = parse_generate_event(R"({"token_ids":[3 ,4 ]})");
  ASSERT_TRUE(spaced.ok()) << spaced.status().to_string();
  EXPECT_EQ(spaced->token_ids, (std::vector<int32_t>{3, 4}));
}

// Decode-step events with logprobs, read without a json value, must agree
// with the full parser bit for bit (a space after the first colon sends the
// same event to the full parser).
TEST(InternalApiTest, DecodeStepEventsWithLogprobsAgreeWithTheFullParser) {
  const float values[] = {-0.25f,   0.0f,         -0.0f, -1e-30f,  -1.17549435e-38f, -1e-45f,
                          -3.3e38f, -123.456789f, -0.1f, -2.5e-7f, -9.99999e9f};
  for (size_t k = 0; k < std::size(values); ++k) {
    GenerateEvent e;
    e.token_ids = {static_cast<int32_t>(k), 2147483647};
    e.logprobs = {{values[k], {{5, values[(k + 1) % std::size(values)]}, {0, values[k]}}},
                  {values[(k + 3) % std::size(values)], {}}};
    const std::string text = to_json(e);
    std::string spaced = text;
    spaced.insert(spaced.find(':') + 1, " ");
    Result<GenerateEvent> fast = parse_generate_event(text), full = parse_generate_event(spaced);
    ASSERT_TRUE(fast.ok()) << text << ": " << fast.status().to_string();
    ASSERT_TRUE(full.ok()) << spaced << ": " << full.status().to_string();
    EXPECT_EQ(fast->token_ids, full->token_ids);
    ASSERT_EQ(fast->logprobs.size(), full->logprobs.size());
    for (size_t i = 0; i < fast->logprobs.size(); ++i) {
      EXPECT_EQ(std::bit_cast<uint32_t>(fast->logprobs[i].logprob),
                std::bit_cast<uint32_t>(full->logprobs[i].logprob))
          << text;
      ASSERT_EQ(fast->logprobs[i].top.size(), full->logprobs[i].top.size());
      for (size_t j = 0; j < fast->logprobs[i].top.size(); ++j) {
        EXPECT_EQ(fast->logprobs[i].top[j].token_id, full->logprobs[i].top[j].token_id);
        EXPECT_EQ(std::bit_cast<uint32_t>(fast->logprobs[i].top[j].logprob),
                  std::bit_cast<uint32_t>(full->logprobs[i].top[j].logprob))
            << text;
      }
    }
    EXPECT_EQ(std::bit_cast<uint32_t>(fast->logprobs[0].logprob),
              std::bit_cast<uint32_t>(values[k]));
  }
  // Other spellings the full parser reads its own way, and refusals.
  Result<GenerateEvent> integer =
      parse_generate_event(R"({"logprobs":[{"logprob":-0,"top":[[3,-0]]}],"token_ids":[3]})");
  ASSERT_TRUE(integer.ok()) << integer.status().to_string();
  EXPECT_EQ(std::bit_cast<uint32_t>(integer->logprobs[0].logprob), 0u);
  for (const char* bad : {R"({"logprobs":[{"logprob":1e39,"top":[]}],"token_ids":[3]})",
                          R"({"logprobs":[{"logprob":-0.5,"top":[[3]]}],"token_ids":[3]})",
                          R"({"logprobs":[{"logprob":-0.5,"top":[[3,-0.5],]}],"token_ids":[3]})",
                          R"({"logprobs":[{"logprob":-.5,"top":[]}],"token_ids":[3]})",
                          R"({"logprobs":[{"top":[]}],"token_ids":[3]})"})
    EXPECT_FALSE(parse_generate_event(bad).ok()) << bad;
}

// The first and the last event of a request (counts, finish, stop token,
// prefill location) are read by the fast path too, and agree with the full
// parser field for field.
TEST(InternalApiTest, FirstAndLastEventsAgreeWithTheFullParser) {
  std::vector<GenerateEvent> events(5);
  events[0].token_ids = {3};
  events[0].num_prompt_tokens = 12;
  events[0].num_cached_tokens = 8;
  events[0].prefill_location = "remote";
  events[1].token_ids = {9, 10};
  events[1].finish_reason = "length";
  events[1].num_prompt_tokens = 12;
  events[2].token_ids = {2};
  events[2].finish_reason = "stop";
  events[2].stop_token_id = 2;
  events[2].logprobs = {{-0.5f, {{2, -0.5f}}}};
  events[3].finish_reason = "abort";
  events[4].token_ids = {2147483647};
  events[4].finish_reason = "stop";
  events[4].stop_token_id = 0;
  events[4].num_prompt_tokens = 2147483647;
  events[4].num_cached_tokens = 1;
  events[4].prefill_location = "local";
  for (const GenerateEvent& e : events) {
    const std::string text = to_json(e);
    GenerateEvent fast;
    ASSERT_TRUE(read_decode_step_event(text, &fast)) << text;
    const size_t colon = text.find(':');
    const std::string spaced =  // not the fast path's spelling
        text.substr(0, colon + 1) + " " + text.substr(colon + 1);
    Result<GenerateEvent> full = parse_generate_event(spaced);
    ASSERT_TRUE(full.ok()) << spaced << ": " << full.status().to_string();
    EXPECT_EQ(fast.token_ids, full->token_ids) << text;
    EXPECT_EQ(fast.finish_reason, full->finish_reason) << text;
    EXPECT_EQ(fast.stop_token_id, full->stop_token_id) << text;
    EXPECT_EQ(fast.num_prompt_tokens, full->num_prompt_tokens) << text;
    EXPECT_EQ(fast.num_cached_tokens, full->num_cached_tokens) << text;
    EXPECT_EQ(fast.prefill_location, full->prefill_location) << text;
    EXPECT_EQ(fast.logprobs.size(), full->logprobs.size()) << text;
  }
  // Left to the full parser: an error, a finish reason it would have to
  // unescape, fields out of order, a count out of range (refused there).
  GenerateEvent e;
  for (const char* other :
       {R"({"error":{"http_status":500,"message":"x","type":""},"token_ids":[]})",
        R"({"finish_reason":"len\u0067th","token_ids":[1]})",
        R"({"num_prompt_tokens":3,"finish_reason":"stop","token_ids":[1]})",
        R"({"num_prompt_tokens":2147483648,"token_ids":[1]})",
        R"({"stop_token_id":-1,"token_ids":[]})"})
    EXPECT_FALSE(read_decode_step_event(other, &e)) << other;
  Result<GenerateEvent> escaped =
      parse_generate_event(R"({"finish_reason":"len\u0067th","token_ids":[1]})");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->finish_reason, "length");
  EXPECT_FALSE(parse_generate_event(R"({"num_prompt_tokens":2147483648,"token_ids":[1]})").ok());
}

TEST(InternalApiTest, EventsPrefillAndStateRoundTrip) {
  GenerateEvent e;
  e.token_ids = {5, 6};
  e.logprobs = {{-0.5f, {{5, -0.5f}, {9, -1.0f}}}, {-0.25f, {}}};
  e.finish_reason = "stop";
  e.stop_token_id = 6;
  auto eb = parse_generate_event(to_json(e));
  ASSERT_TRUE(eb.ok()) << eb.status().to_string();
  EXPECT_EQ(eb->logprobs[0].top[1].token_id, 9);
  EXPECT_EQ(eb->stop_token_id, 6);

  PrefillRequest p;
  p.request_id = "r";
  p.prompt_ids = {1, 2};
  p.target = {"meta", "key", {11, 12}, 4096, {3, 4}, 1, 9};
  auto pb = parse_prefill_request(to_json(p));
  ASSERT_TRUE(pb.ok()) << pb.status().to_string();
  EXPECT_EQ(pb->target.layer_regions, (std::vector<uint64_t>{11, 12}));
  EXPECT_EQ(pb->target.epoch, 9u);
  p.request_id.clear();  // the last layer's notification is the request id: never empty
  EXPECT_EQ(parse_prefill_request(to_json(p)).status().message(),
            "prefill.request_id must not be empty");

  PrefillResponse err;
  err.error = ErrorInfo{503, "transfer failed", ""};
  auto eb2 = parse_prefill_response(to_json(err));
  ASSERT_TRUE(eb2.ok());
  EXPECT_EQ(eb2->error->http_status, 503);

  WorkerState s;
  s.role = "decode";
  s.load.num_free_blocks = 10;
  s.events = {{true, 123}, {false, 456}};
  auto sb = parse_worker_state(to_json(s));
  ASSERT_TRUE(sb.ok()) << sb.status().to_string();
  EXPECT_EQ(sb->events[1].block_hash, 456u);
  EXPECT_FALSE(sb->events[1].stored);
  EXPECT_EQ(
      parse_registration(R"({"role":"router","address":{"host":"h","port":1}})").status().message(),
      "registration.role must be prefill or decode");
}

}  // namespace
}  // namespace pdserve::server::internal
