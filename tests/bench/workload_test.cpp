// Workloads on the demo model's tokenizer: exact token lengths, the prefix
// layout, ShareGPT reading and its one-line errors.
#include "bench/workload.h"

#include <gtest/gtest.h>

#include <fstream>

namespace pdserve::bench {
namespace {

const std::string kDemo = std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo";

const tokenizer::Tokenizer& demo_tokenizer() {
  static auto tok = tokenizer::Tokenizer::from_file(kDemo + "/tokenizer.json");
  EXPECT_TRUE(tok.ok()) << tok.status().to_string();
  return **tok;
}

std::vector<int32_t> encode_plain(const std::string& text) {
  tokenizer::EncodeOptions plain;
  plain.add_special_tokens = false;
  plain.split_special_tokens = true;
  auto ids = demo_tokenizer().encode(text, plain);
  EXPECT_TRUE(ids.ok());
  return ids.ok() ? *ids : std::vector<int32_t>{};
}

TEST(RandomWorkloadTest, PromptsHaveExactlyTheTokenLength) {
  RandomWorkloadOptions o;
  o.num_prompts = 40;
  o.input_len = 32;
  o.output_len = 16;
  auto w = random_workload(demo_tokenizer(), o);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_EQ(w->size(), 40u);
  for (const BenchRequest& r : *w) {
    EXPECT_EQ(r.input_len, 32);
    EXPECT_EQ(r.output_len, 16);
    EXPECT_EQ(r.prompt_ids.size(), 32u);
    EXPECT_EQ(encode_plain(r.prompt_text), r.prompt_ids);  // text and ids agree
    for (int32_t id : r.prompt_ids) EXPECT_FALSE(demo_tokenizer().is_special(id));
  }
  EXPECT_NE((*w)[0].prompt_ids, (*w)[1].prompt_ids);
}

TEST(RandomWorkloadTest, RangeRatioBoundsAndSeed) {
  RandomWorkloadOptions o;
  o.num_prompts = 60;
  o.input_len = 100;
  o.output_len = 20;
  o.range_ratio = 0.5;
  o.seed = 5;
  auto w = random_workload(demo_tokenizer(), o);
  ASSERT_TRUE(w.ok());
  int min_in = 1 << 30, max_in = 0;
  for (const BenchRequest& r : *w) {
    EXPECT_GE(r.input_len, 50);
    EXPECT_LE(r.input_len, 150);
    EXPECT_GE(r.output_len, 10);
    EXPECT_LE(r.output_len, 30);
    EXPECT_EQ(static_cast<int>(r.prompt_ids.size()), r.input_len);
    EXPECT_EQ(encode_plain(r.prompt_text), r.prompt_ids);
    min_in = std::min(min_in, r.input_len);
    max_in = std::max(max_in, r.input_len);
  }
  EXPECT_LT(min_in, max_in);
  auto again = random_workload(demo_tokenizer(), o);
  ASSERT_TRUE(again.ok());
  for (size_t i = 0; i < w->size(); ++i) EXPECT_EQ((*w)[i].prompt_ids, (*again)[i].prompt_ids);
}

TEST(DrawLengthTest, UniformInclusiveRange) {
  std::mt19937_64 rng(1);
  std::vector<int> seen(13, 0);
  for (int i = 0; i < 5000; ++i) {
    const int v = draw_length(rng, 10, 0.2);  // [8, 12]
    ASSERT_GE(v, 8);
    ASSERT_LE(v, 12);
    ++seen[static_cast<size_t>(v)];
  }
  for (int v = 8; v <= 12; ++v) EXPECT_GT(seen[static_cast<size_t>(v)], 800) << v;
  EXPECT_EQ(draw_length(rng, 10, 0.0), 10);
  EXPECT_EQ(draw_length(rng, 1, 0.9), 1);
}

TEST(PrefixWorkloadTest, SharedPrefixesThenDistinctQuestions) {
  PrefixWorkloadOptions o;
  o.num_prompts = 12;
  o.num_prefixes = 3;
  o.prefix_len = 64;
  o.input_len = 16;
  o.output_len = 8;
  auto w = prefix_workload(demo_tokenizer(), o);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_EQ(w->size(), 12u);
  for (size_t i = 0; i < w->size(); ++i) {
    const BenchRequest& r = (*w)[i];
    EXPECT_EQ(r.input_len, 80);
    ASSERT_EQ(r.prompt_ids.size(), 80u);
    EXPECT_EQ(encode_plain(r.system_text).size(), 64u);
    EXPECT_EQ(encode_plain(r.prompt_text).size(), 16u);
    const BenchRequest& same = (*w)[i % 3];
    EXPECT_TRUE(
        std::equal(r.prompt_ids.begin(), r.prompt_ids.begin() + 64, same.prompt_ids.begin()));
    EXPECT_EQ(r.system_text, same.system_text);
  }
  EXPECT_NE((*w)[0].system_text, (*w)[1].system_text);
  EXPECT_NE((*w)[0].prompt_text, (*w)[3].prompt_text);
}

const char* kShareGpt = R"([
  {"id": "a", "conversations": [{"from": "human", "value": "What is the capital of France, and why?"},
                                {"from": "gpt", "value": "The capital of France is Paris, a city on the Seine."}]},
  {"id": "b", "conversations": [{"from": "system", "value": "be brief"},
                                {"from": "human", "value": "Tell me about the moon and the tides please."},
                                {"from": "gpt", "value": "The moon pulls the oceans, which makes the tides rise and fall."},
                                {"from": "human", "value": "more"}]},
  {"id": "only-human", "conversations": [{"from": "human", "value": "Is anyone there at all today?"}]},
  {"id": "short", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello there my friend"}]},
  {"id": "empty", "conversations": []}
])";

TEST(ShareGptTest, FirstHumanTurnAndReplyLength) {
  ShareGptOptions o;
  o.num_prompts = 2;
  auto w = sharegpt_workload_from_json(demo_tokenizer(), kShareGpt, "sg.json", o);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_EQ(w->size(), 2u);
  std::vector<std::string> prompts;
  for (const BenchRequest& r : *w) {
    prompts.push_back(r.prompt_text);
    EXPECT_TRUE(r.prompt_ids.empty());
    EXPECT_EQ(r.input_len, static_cast<int>(demo_tokenizer().encode(r.prompt_text)->size()));
  }
  std::sort(prompts.begin(), prompts.end());
  EXPECT_EQ(prompts[0], "Tell me about the moon and the tides please.");
  EXPECT_EQ(prompts[1], "What is the capital of France, and why?");
  for (const BenchRequest& r : *w) {
    const std::string reply =
        r.prompt_text[0] == 'T' ? "The moon pulls the oceans, which makes the tides rise and fall."
                                : "The capital of France is Paris, a city on the Seine.";
    EXPECT_EQ(r.output_len, static_cast<int>(demo_tokenizer().encode(reply)->size()));
  }
}

TEST(ShareGptTest, FiltersShortPairsAndOversamples) {
  ShareGptOptions o;
  o.num_prompts = 5;  // only 2 usable ("hi" is shorter than 4 tokens)
  auto w = sharegpt_workload_from_json(demo_tokenizer(), kShareGpt, "sg.json", o);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 5u);
  for (const BenchRequest& r : *w) {
    EXPECT_NE(r.prompt_text, "hi");
    EXPECT_GE(r.input_len, kShareGptMinLen);
  }
  o.output_len = 7;
  auto fixed = sharegpt_workload_from_json(demo_tokenizer(), kShareGpt, "sg.json", o);
  ASSERT_TRUE(fixed.ok());
  for (const BenchRequest& r : *fixed) EXPECT_EQ(r.output_len, 7);
}

TEST(ShareGptTest, MalformedFilesGiveOneLineNamingTheProblem) {
  struct Case {
    std::string json, message;
  } cases[] = {
      {"[{\"conversations\": [", "sg.json: not valid JSON (at byte"},
      {"{\"conversations\": []}", "sg.json: expected a list of conversations"},
      {"[{\"id\": 1}]", "sg.json: entry 0 has no \"conversations\" list"},
      {"[3]", "sg.json: entry 0 is not an object"},
      {"[{\"conversations\": [{\"from\": \"human\", \"value\": 5}]}]",
       "sg.json: entry 0, turn 0 has no string \"value\""},
      {"[{\"conversations\": [{\"value\": \"x\"}]}]", "entry 0, turn 0 has no string \"from\""},
      {"[{\"conversations\": [\"x\"]}]", "entry 0, turn 0 is not an object"},
      {"[]", "sg.json: no conversation with a human turn and a gpt reply"},
  };
  ShareGptOptions o;
  o.num_prompts = 3;
  for (const Case& c : cases) {
    auto w = sharegpt_workload_from_json(demo_tokenizer(), c.json, "sg.json", o);
    ASSERT_FALSE(w.ok()) << c.json;
    EXPECT_NE(w.status().message().find(c.message), std::string::npos) << w.status().message();
    EXPECT_EQ(w.status().message().find('\n'), std::string::npos) << w.status().message();
  }
  auto missing = sharegpt_workload(demo_tokenizer(), "/nonexistent/sg.json", o);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "--dataset-path /nonexistent/sg.json: cannot be read");
}

TEST(ShareGptTest, ReadsAFile) {
  const std::string path = std::string(PDSERVE_BINARY_DIR) + "/bench_serve_sharegpt_test.json";
  std::ofstream(path) << kShareGpt;
  ShareGptOptions o;
  o.num_prompts = 2;
  auto w = sharegpt_workload(demo_tokenizer(), path, o);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->size(), 2u);
}

}  // namespace
}  // namespace pdserve::bench
