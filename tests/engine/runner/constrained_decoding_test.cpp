// Structured outputs in the engine on the demo model: greedy and sampled
// outputs under a JSON schema, a regex and a choice list parse and match,
// speculative decoding (n-gram and draft proposals, rolled back where the
// constraint refuses them) gives exactly the plain greedy output, a
// prefill-only request samples its first token under the mask, and a
// constraint the runner cannot follow is refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "engine/runner/sequence_grammar.h"
#include "tests/engine/spec/spec_test_util.h"
#include "tokenizer/token_bytes.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::spec {
namespace {

using Kind = protocol::OutputConstraint::Kind;

// The demo tokenizer's bytes, and a compiler over them whose stop tokens
// are the demo model's eos ids (as `pdserve` builds it: cli/structured_vocabulary).
struct Vocab {
  std::vector<std::string> bytes;
  std::shared_ptr<structured::GrammarCompiler> compiler;
};

const Vocab& demo_vocab() {
  static const Vocab v = [] {
    auto tok = tokenizer::Tokenizer::from_file((kDemoDir / "tokenizer.json").string());
    PD_CHECK(tok.ok()) << tok.status().to_string();
    auto bytes = tokenizer::token_bytes(**tok);
    PD_CHECK(bytes.ok()) << bytes.status().to_string();
    auto vocab = structured::Vocabulary::create(*bytes, {4, 0});  // config.json eos_token_id
    PD_CHECK(vocab.ok()) << vocab.status().to_string();
    return Vocab{*bytes, std::make_shared<structured::GrammarCompiler>(*vocab)};
  }();
  return v;
}

std::string text_of(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += demo_vocab().bytes[static_cast<size_t>(id)];
  return s;
}

std::shared_ptr<const protocol::OutputConstraint> make(Kind kind, std::string text,
                                                       std::vector<std::string> choices = {}) {
  return std::make_shared<const protocol::OutputConstraint>(
      protocol::OutputConstraint{kind, std::move(text), std::move(choices)});
}

const char* kPersonSchema = R"({"type": "object", "properties": {
    "name": {"type": "string", "maxLength": 8},
    "age": {"type": "integer", "minimum": 0, "maximum": 120},
    "pet": {"enum": ["cat", "dog"]}},
  "required": ["name", "age", "pet"]})";

std::vector<engine::RequestSpec> requests(float temperature) {
  std::vector<engine::RequestSpec> specs;
  const std::vector<std::shared_ptr<const protocol::OutputConstraint>> constraints = {
      make(Kind::kJsonSchema, kPersonSchema), make(Kind::kRegex, "[0-9]{3}-[a-z]{2,5}"),
      make(Kind::kChoice, "", {"red", "green", "blue"}), make(Kind::kJsonObject, "")};
  for (size_t i = 0; i < 8; ++i) {
    engine::RequestSpec s;
    s.request_id = i + 1;
    s.prompt_ids = {1, 415 + static_cast<int32_t>(i), 2936, 302, 1234};
    s.sampling.temperature = temperature;
    s.sampling.seed = i;
    s.sampling.max_tokens = 640;  // room for 24 whitespace bytes in every gap of the JSON
    s.sampling.constraint = constraints[i % constraints.size()];
    specs.push_back(std::move(s));
  }
  return specs;
}

// Runs the requests and checks every output against its constraint.
std::vector<std::vector<int32_t>> run_checked(DemoEngine& d,
                                              std::vector<engine::RequestSpec> specs) {
  if (d.target) d.target->set_grammar_compiler(demo_vocab().compiler);
  std::vector<std::shared_ptr<const protocol::OutputConstraint>> cs;
  for (const auto& s : specs) cs.push_back(s.sampling.constraint);
  auto results = d.engine->generate(std::move(specs));
  EXPECT_TRUE(results.ok()) << results.status().to_string();
  std::vector<std::vector<int32_t>> out;
  if (!results.ok()) return out;
  for (size_t i = 0; i < results->size(); ++i) {
    const engine::GenerateResult& r = (*results)[i];
    out.push_back(r.token_ids);
    std::vector<int32_t> ids = r.token_ids;
    const protocol::OutputConstraint& c = *cs[i];
    // Free-form JSON may go on past max_tokens; every other constraint here is bounded.
    if (c.kind == Kind::kJsonObject && r.finish_reason == engine::FinishReason::kLength) {
      EXPECT_EQ(text_of(ids).find_first_not_of(" \t\n"), text_of(ids).find('{'));
      continue;
    }
    EXPECT_EQ(r.finish_reason, engine::FinishReason::kStop) << text_of(ids);
    if (!ids.empty() && r.stop_token_id) ids.pop_back();
    const std::string text = text_of(ids);
    switch (c.kind) {
      case Kind::kJsonSchema: {
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        EXPECT_TRUE(j.is_object()) << text;
        if (!j.is_object()) break;
        EXPECT_TRUE(j["name"].is_string() && j["name"].get<std::string>().size() <= 8) << text;
        EXPECT_TRUE(j["age"].is_number_integer() && j["age"] >= 0 && j["age"] <= 120) << text;
        EXPECT_TRUE(j["pet"] == "cat" || j["pet"] == "dog") << text;
        break;
      }
      case Kind::kRegex: EXPECT_TRUE(std::regex_match(text, std::regex(c.text))) << text; break;
      case Kind::kChoice:
        EXPECT_NE(std::find(c.choices.begin(), c.choices.end(), text), c.choices.end()) << text;
        break;
      default: EXPECT_TRUE(nlohmann::json::parse(text, nullptr, false).is_object()) << text;
    }
  }
  EXPECT_TRUE(d.all_blocks_free());
  return out;
}

TEST(ConstrainedDecodingTest, GreedyAndSampledOutputsFollowTheConstraint) {
  for (float temperature : {0.0f, 1.0f}) {
    DemoEngine d = DemoEngine::make({}, nullptr);
    run_checked(d, requests(temperature));
  }
}

TEST(ConstrainedDecodingTest, SpeculationGivesThePlainGreedyOutput) {
  DemoEngine plain = DemoEngine::make({}, nullptr);
  const auto expected = run_checked(plain, requests(0.0f));
  for (const SpeculativeConfig& config : {ngram_config(), draft_config()}) {
    DemoEngine d = DemoEngine::make({}, &config);
    EXPECT_EQ(run_checked(d, requests(0.0f)), expected);
  }
}

TEST(ConstrainedDecodingTest, PrefillOnlySamplesTheFirstTokenUnderTheMask) {
  DemoEngine d = DemoEngine::make({}, nullptr);
  d.target->set_grammar_compiler(demo_vocab().compiler);
  engine::RequestSpec s = requests(0.0f)[2];  // the choice list
  s.prefill_only = true;
  auto r = d.engine->generate({s});
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ((*r)[0].token_ids.size(), 1u);
  const std::string first = text_of((*r)[0].token_ids);
  EXPECT_TRUE(!first.empty() &&
              (std::string("red").starts_with(first) || std::string("green").starts_with(first) ||
               std::string("blue").starts_with(first)))
      << first;
}

TEST(ConstrainedDecodingTest, UnfollowableConstraintsAreRefused) {
  // Generated tokens (a remote prefill's first token) that break the
  // constraint: a stop token before the output is complete.
  const std::vector<int32_t> eos = {4};
  auto bad = runner::SequenceGrammar::create(*demo_vocab().compiler,
                                             *make(Kind::kChoice, "", {"yes"}), eos);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  // A runner that has no vocabulary refuses a constrained sequence.
  DemoEngine d = DemoEngine::make({}, nullptr);
  runner::SequenceInfo info;
  info.seq_id = 1;
  info.prompt_ids = {1};
  info.sampling.constraint = make(Kind::kJsonObject, "");
  EXPECT_EQ(d.target->add_sequence(info).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pdserve::spec
