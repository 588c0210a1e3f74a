// Structured outputs in the engine on the demo model: greedy and sampled
// outputs under a JSON schema, a regex and a choice list parse and match,
// speculative decoding (n-gram and draft proposals, rolled back where the
// constraint refuses them) gives exactly the plain greedy output, a
// prefill-only request samples its first token under the mask, the masks
// the runner computes while the forward pass runs (MaskWorker) change no
// output, greedy rows under masks take an argmax that picks what the
// sampler picks (on the GPU too, when there is one), and a constraint the
// runner cannot follow is refused.
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

#include "engine/runner/mask_worker.h"
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

// FNV-1a over a request's output token ids.
uint64_t fingerprint(const std::vector<int32_t>& ids) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t id : ids) {
    for (int b = 0; b < 4; ++b) {
      h ^= (static_cast<uint32_t>(id) >> (8 * b)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return h;
}

// The outputs of requests(0) and requests(1) (fingerprints) when the runner
// computed each mask inline after the forward pass, before the masks moved to
// MaskWorker, which overlaps them with the forward: the overlap must change no
// token, greedy or sampled, with or without async scheduling.
const std::vector<uint64_t> kInlineMaskOutputs[2] = {
    {0x2180023ea2e2c9ffull, 0x7b16029250109b2dull, 0x99dc355acff0909bull, 0x0028c5ae8580a699ull,
     0x2180023ea2e2c9ffull, 0x709086d412fc311bull, 0x99dc355acff0909bull, 0x0028c5ae8580a699ull},
    {0x074722ec4570f6ebull, 0x655c44b3b2aa18ceull, 0x99dc355acff0909bull, 0xecad2ae8c528f8c8ull,
     0x20e4175972830e9full, 0x562d99ab45291464ull, 0x99dc355acff0909bull, 0x8a1d379de56491faull},
};

TEST(ConstrainedDecodingTest, OutputsAreThoseOfTheInlineMask) {
  for (bool async : {false, true}) {
    for (int t = 0; t < 2; ++t) {
      engine::EngineConfig config;
      config.async_scheduling = async;
      DemoEngine d = DemoEngine::make(config, nullptr);
      std::vector<uint64_t> outputs;
      std::string listing;
      for (const auto& ids : run_checked(d, requests(static_cast<float>(t)))) {
        outputs.push_back(fingerprint(ids));
        char hex[32];
        std::snprintf(hex, sizeof hex, "0x%016llxull, ",
                      static_cast<unsigned long long>(outputs.back()));
        listing += hex;
      }
      EXPECT_EQ(outputs, kInlineMaskOutputs[t])
          << "temperature " << t << ", async " << async << ": " << listing;
    }
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

TEST(ConstrainedDecodingTest, SpeculationSwitchedOnMidRunGivesThePlainGreedyOutput) {
  // Eight requests against a cut of five: speculation starts once the short
  // outputs are done, verifying over the matchers that plain steps advanced.
  DemoEngine plain = DemoEngine::make({}, nullptr);
  const auto expected = run_checked(plain, requests(0.0f));
  for (SpeculativeConfig config : {ngram_config(), draft_config()}) {
    config.disable_by_batch_size = 5;
    DemoEngine d = DemoEngine::make({}, &config);
    EXPECT_EQ(run_checked(d, requests(0.0f)), expected);
    EXPECT_GT(d.engine->stats().spec_decode.num_drafts, 0);
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

TEST(ConstrainedDecodingTest, MasksPreparedOnTheWorkerAreThoseComputedInline) {
  // Two matchers of each constraint walk the same path (a different allowed
  // token each step); one prepares its masks on the MaskWorker, the other
  // inline. Every masked row is the same.
  const size_t vocab = demo_vocab().bytes.size();
  runner::MaskWorker worker;
  const std::vector<engine::RequestSpec> specs = requests(0.0f);
  for (size_t i = 0; i < 4; ++i) {
    const protocol::OutputConstraint& c = *specs[i].sampling.constraint;
    auto on_worker = runner::SequenceGrammar::create(*demo_vocab().compiler, c, {});
    auto in_line = runner::SequenceGrammar::create(*demo_vocab().compiler, c, {});
    ASSERT_TRUE(on_worker.ok() && in_line.ok());
    for (size_t step = 0; step < 48; ++step) {
      ASSERT_TRUE(worker.start({{on_worker->get(), {}}}).wait().ok());
      ASSERT_TRUE((*in_line)->prepare().ok());
      std::vector<float> a(vocab, 0.0f), b(vocab, 0.0f);
      (*on_worker)->apply(a, vocab);
      (*in_line)->apply(b, vocab);
      ASSERT_EQ(a, b) << "constraint " << i << ", step " << step;
      std::vector<int32_t> allowed;
      for (size_t id = 0; id < vocab; ++id)
        if (a[id] == 0.0f) allowed.push_back(static_cast<int32_t>(id));
      ASSERT_FALSE(allowed.empty());
      const int32_t token = allowed[(step * 7919) % allowed.size()];
      ASSERT_TRUE((*on_worker)->accept(token).ok());
      ASSERT_TRUE((*in_line)->accept(token).ok());
      if (token == 4) break;  // the stop token
    }
  }
}

// kSteps greedy tokens of each of requests(0)'s constrained sequences and of
// two more (one under min_tokens, one free) decoded together by a runner on
// `be` (its decode graphs where it has them), every row with `num_logprobs`.
std::vector<std::vector<int32_t>> greedy_outputs(std::unique_ptr<backend::Backend> be,
                                                 int num_logprobs) {
  constexpr int kSteps = 24, kBlocksPerSeq = 4;
  std::vector<engine::RequestSpec> specs = requests(0.0f);
  specs.push_back(specs[3]);  // free-form JSON under min_tokens: its stop tokens blocked
  specs.back().sampling.min_tokens = 12;
  specs.push_back(specs[0]);  // no constraint: its mask row allows every token
  specs.back().sampling.constraint = nullptr;
  const int num_seqs = static_cast<int>(specs.size());
  runner::LlmRunnerOptions options;
  options.num_blocks = num_seqs * kBlocksPerSeq;
  auto loaded = runner::LlmRunner::load(kDemoDir, std::move(be), options);
  PD_CHECK(loaded.ok()) << loaded.status().to_string();
  runner::LlmRunner& r = **loaded;
  r.set_grammar_compiler(demo_vocab().compiler);
  r.use_decode_graphs(num_seqs);
  runner::StepBatch batch;
  for (int i = 0; i < num_seqs; ++i) {
    runner::SequenceInfo info;
    info.seq_id = static_cast<uint64_t>(i) + 1;
    info.prompt_ids = specs[static_cast<size_t>(i)].prompt_ids;
    info.sampling = specs[static_cast<size_t>(i)].sampling;
    info.sampling.num_logprobs = num_logprobs;
    PD_CHECK(r.add_sequence(info).ok());
    runner::SeqStep s{info.seq_id, info.prompt_ids, 0, {}, true};
    for (int b = 0; b < kBlocksPerSeq; ++b) s.block_table.push_back(i * kBlocksPerSeq + b);
    batch.seqs.push_back(std::move(s));
  }
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(num_seqs));
  for (int step = 0; step < kSteps; ++step) {
    auto result = r.execute(batch);
    PD_CHECK(result.ok()) << result.status().to_string();
    for (const runner::SampledToken& t : result->sampled) out[t.seq_id - 1].push_back(t.token_id);
    for (runner::SeqStep& s : batch.seqs) {
      s.num_computed += static_cast<int32_t>(s.input_ids.size());
      s.input_ids = {runner::kLastSampled};
    }
  }
  return out;
}

// Without logprobs every row is greedy and takes an argmax under its mask
// row; asking for logprobs sends the same rows through the sampler.
TEST(ConstrainedDecodingTest, GreedyRowsTakeTheMaskedArgmaxAndPickWhatTheSamplerPicks) {
  EXPECT_EQ(greedy_outputs(backend::make_cpu_backend(0), -1),
            greedy_outputs(backend::make_cpu_backend(0), 0));
}

TEST(ConstrainedDecodingTest, OnTheGpuGreedyRowsTakeTheMaskedArgmaxAndPickWhatTheSamplerPicks) {
  if (!backend::cuda_available()) GTEST_SKIP() << "no CUDA device";
  auto argmax = backend::make_cuda_backend(0), sampler = backend::make_cuda_backend(0);
  ASSERT_TRUE(argmax.ok() && sampler.ok());
  EXPECT_EQ(greedy_outputs(std::move(*argmax), -1), greedy_outputs(std::move(*sampler), 0));
}

// A constraint that completes before min_tokens: its stop token goes on
// (invisible in the text) until min_tokens, where blocking it would leave no
// token and fail the step for every request in it, here a free one too.
TEST(ConstrainedDecodingTest, AConstraintCompleteBeforeMinTokensEndsAtMinTokens) {
  const SpeculativeConfig ngram = ngram_config(), draft = draft_config();
  for (const SpeculativeConfig* spec :
       {static_cast<const SpeculativeConfig*>(nullptr), &ngram, &draft}) {
    for (float temperature : {0.0f, 1.0f}) {
      std::vector<engine::RequestSpec> specs = requests(temperature);
      specs.resize(3);  // specs[2]: one of three words
      specs[2].sampling.min_tokens = 12;
      specs[1].sampling.constraint = nullptr;  // free, in the same steps
      specs[1].sampling.max_tokens = 16;
      specs[1].sampling.ignore_eos = true;
      DemoEngine d = DemoEngine::make({}, spec);
      d.target->set_grammar_compiler(demo_vocab().compiler);
      auto results = d.engine->generate(specs);
      ASSERT_TRUE(results.ok()) << results.status().to_string();
      const engine::GenerateResult& r = (*results)[2];
      EXPECT_EQ(r.finish_reason, engine::FinishReason::kStop);
      ASSERT_EQ(r.token_ids.size(), 12u)
          << text_of(r.token_ids) << ::testing::PrintToString(r.token_ids);
      std::vector<int32_t> ids = r.token_ids;
      while (!ids.empty() && ids.back() == 4) ids.pop_back();  // the stop token
      const std::vector<std::string>& words = specs[2].sampling.constraint->choices;
      EXPECT_NE(std::find(words.begin(), words.end(), text_of(ids)), words.end()) << text_of(ids);
      EXPECT_EQ((*results)[1].token_ids.size(), 16u);
      EXPECT_TRUE(d.all_blocks_free());
    }
  }
}

// Two jobs on one sequence's grammar would race on its matcher.
TEST(ConstrainedDecodingTest, ASequenceTwiceInABatchIsRefusedBeforeItsMasks) {
  DemoEngine d = DemoEngine::make({}, nullptr);
  d.target->set_grammar_compiler(demo_vocab().compiler);
  runner::SequenceInfo info;
  info.seq_id = 1;
  info.prompt_ids = {1, 415, 2936};
  info.sampling.constraint = make(Kind::kChoice, "", {"red", "green"});
  ASSERT_TRUE(d.target->add_sequence(info).ok());
  runner::StepBatch batch;
  for (int i = 0; i < 2; ++i) batch.seqs.push_back({info.seq_id, info.prompt_ids, 0, {0}, true});
  EXPECT_EQ(d.target->execute(batch).status().code(), StatusCode::kInvalidArgument);
  batch.seqs.pop_back();
  auto once = d.target->execute(batch);
  ASSERT_TRUE(once.ok()) << once.status().to_string();
  EXPECT_EQ(once->sampled.size(), 1u);
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
