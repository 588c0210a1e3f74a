#include "engine/model/model_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "tests/engine/model/model_test_files.h"

namespace pdserve::model {
namespace {

using nlohmann::json;
using testing::fails_with;
using testing::TempDir;

// A valid Llama config.json in transformers 4 form.
json llama_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 32, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    "hidden_act": "silu", "torch_dtype": "bfloat16",
    "bos_token_id": 1, "eos_token_id": 2})");
}

Result<ModelConfig> parse(const json& config, const std::optional<std::string>& generation = {}) {
  return parse_model_config(config.dump(), generation, "");
}

Status parse_status(const json& config, const std::optional<std::string>& generation = {}) {
  return parse(config, generation).status();
}

// --- files ------------------------------------------------------------------

TEST(ModelConfigTest, LoadsTheLlama3Fixture) {
  auto c = load_model_config(testing::fixture_dir("llama3"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, Architecture::kLlama);
  EXPECT_EQ(c->architecture_name, "LlamaForCausalLM");
  EXPECT_EQ(c->vocab_size, 512);
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->intermediate_size, 128);
  EXPECT_EQ(c->num_layers, 2);
  EXPECT_EQ(c->num_heads, 4);
  EXPECT_EQ(c->num_kv_heads, 2);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(c->torch_dtype, backend::DType::kBF16);
  EXPECT_FALSE(c->tie_word_embeddings);
  EXPECT_FALSE(c->qkv_bias);
  EXPECT_FALSE(c->qk_norm);
  EXPECT_EQ(c->bos_token_id, 1);
  EXPECT_EQ(c->eos_token_ids, std::vector<int>{2});
}

TEST(ModelConfigTest, LoadsTheQwen3FixtureWithExplicitHeadDim) {
  auto c = load_model_config(testing::fixture_dir("qwen3"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, Architecture::kQwen3);
  EXPECT_EQ(c->head_dim, 32);  // not 64 / 4
  EXPECT_TRUE(c->qk_norm);
  EXPECT_FALSE(c->qkv_bias);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->sliding_window, 0);
}

TEST(ModelConfigTest, MissingConfigIsNotFoundAndNamesTheFile) {
  TempDir dir;
  EXPECT_TRUE(fails_with(load_model_config(dir.path()).status(), StatusCode::kNotFound,
                         {(dir.path() / "config.json").string() +
                          ": file not found (supported: a Hugging Face model folder with "
                          "config.json and model.safetensors or "
                          "model.safetensors.index.json)"}));
  EXPECT_TRUE(fails_with(load_model_config(dir.path() / "absent").status(), StatusCode::kNotFound,
                         {"absent/config.json: file not found"}));
}

TEST(ModelConfigTest, ConfigThatIsAFolderIsRefused) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "config.json");
  EXPECT_TRUE(
      fails_with(load_model_config(dir.path()).status(), {"config.json: not a regular file"}));
}

TEST(ModelConfigTest, ConfigThatIsAFifoIsRefusedWithoutWaiting) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / "config.json").c_str(), 0600), 0);
  EXPECT_TRUE(
      fails_with(load_model_config(dir.path()).status(), {"config.json: not a regular file"}));
}

TEST(ModelConfigTest, ConfigNotJsonNamesTheFile) {
  TempDir dir;
  dir.write("config.json", "{\"vocab_size\": 32,");
  EXPECT_TRUE(fails_with(load_model_config(dir.path()).status(),
                         {(dir.path() / "config.json").string(), ": invalid JSON: "}));
}

TEST(ModelConfigTest, ConfigNotAnObjectIsRefused) {
  EXPECT_TRUE(fails_with(parse_model_config("[1, 2]", std::nullopt, "").status(),
                         {"config.json: must be a JSON object"}));
  EXPECT_TRUE(fails_with(parse_model_config("\"LlamaForCausalLM\"", std::nullopt, "").status(),
                         {"config.json: must be a JSON object"}));
}

TEST(ModelConfigTest, OversizedConfigIsRefusedBeforeReading) {
  TempDir dir;
  dir.write("config.json", std::string((16u << 20) + 1, ' '));
  EXPECT_TRUE(fails_with(load_model_config(dir.path()).status(),
                         {"config.json: 16777217 bytes, larger than the limit of 16777216"}));
}

// A value nested a million deep is refused with a short excerpt, not by
// overflowing the stack while rendering it.
TEST(ModelConfigTest, DeeplyNestedValueIsRefusedWithAShortExcerpt) {
  json j = llama_config();
  j.erase("hidden_size");
  const int depth = 1000000;
  std::string text = j.dump();
  text.insert(1, "\"hidden_size\":" + std::string(depth, '[') + std::string(depth, ']') + ",");
  Status s = parse_model_config(text, std::nullopt, "").status();
  EXPECT_TRUE(fails_with(s, {"\"hidden_size\" must be an integer, got [[[[[...]]]]"}));
  EXPECT_LT(s.message().size(), 200u);
}

// --- architecture -----------------------------------------------------------

TEST(ModelConfigTest, UnsupportedArchitectureListsTheSupportedOnes) {
  json j = llama_config();
  j["architectures"] = {"GPT2LMHeadModel"};
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: architecture \"GPT2LMHeadModel\" is not supported",
                          "(supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                          "Qwen3ForCausalLM)"}));
}

TEST(ModelConfigTest, ArchitecturesMustBeANonEmptyListOfNames) {
  for (const json& bad : {json("LlamaForCausalLM"), json::array(), json({7}), json(nullptr)}) {
    json j = llama_config();
    j["architectures"] = bad;
    EXPECT_TRUE(fails_with(parse_status(j),
                           {"config.json: \"architectures\" must be a list naming the model class",
                            "supported: LlamaForCausalLM, MistralForCausalLM"}))
        << bad.dump();
  }
  json j = llama_config();
  j.erase("architectures");
  EXPECT_TRUE(fails_with(parse_status(j), {"\"architectures\" must be a list"}));
}

TEST(ModelConfigTest, ArchitectureNameFromTheFileStaysOnOneLine) {
  json j = llama_config();
  j["architectures"] = {"Evil\nModel"};
  EXPECT_TRUE(fails_with(parse_status(j), {"architecture \"Evil\\nModel\" is not supported"}));
}

TEST(ModelConfigTest, UnsupportedHiddenActListsSilu) {
  json j = llama_config();
  j["hidden_act"] = "gelu";
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: hidden_act \"gelu\" is not supported (supported: silu)"}));
  j["hidden_act"] = 3;
  EXPECT_TRUE(fails_with(parse_status(j), {"\"hidden_act\" must be a string, got 3"}));
}

TEST(ModelConfigTest, UnsupportedDtypeListsTheSupportedOnes) {
  json j = llama_config();
  j["torch_dtype"] = "float64";
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: \"torch_dtype\" \"float64\" is not supported (supported: "
                          "bfloat16, float16, float32)"}));
  j.erase("torch_dtype");
  j["dtype"] = "int8";  // transformers 5 spelling
  EXPECT_TRUE(fails_with(parse_status(j), {"\"dtype\" \"int8\" is not supported"}));
  j["dtype"] = "float16";
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->torch_dtype, backend::DType::kF16);
}

// --- shape fields -----------------------------------------------------------

class RequiredFieldTest : public ::testing::TestWithParam<const char*> {};

TEST_P(RequiredFieldTest, MissingIsNamed) {
  json j = llama_config();
  j.erase(GetParam());
  EXPECT_TRUE(
      fails_with(parse_status(j), {std::string("config.json: \"") + GetParam() + "\" is missing"}));
}

TEST_P(RequiredFieldTest, NullReadsAsMissing) {
  json j = llama_config();
  j[GetParam()] = nullptr;
  EXPECT_TRUE(fails_with(parse_status(j), {std::string("\"") + GetParam() + "\" is missing"}));
}

TEST_P(RequiredFieldTest, NonPositiveIsRefusedWithTheRange) {
  for (int bad : {0, -3}) {
    json j = llama_config();
    j[GetParam()] = bad;
    EXPECT_TRUE(fails_with(
        parse_status(j), {std::string("config.json: \"") + GetParam() +
                          "\" must be an integer in [1, 2147483647], got " + std::to_string(bad)}));
  }
}

TEST_P(RequiredFieldTest, WrongTypeIsRefused) {
  json j = llama_config();
  j[GetParam()] = "64";
  EXPECT_TRUE(fails_with(parse_status(j),
                         {std::string("\"") + GetParam() + "\" must be an integer", "got \"64\""}));
  j[GetParam()] = 64.5;
  EXPECT_TRUE(fails_with(parse_status(j), {"must be an integer", "got 64.5"}));
  j[GetParam()] = true;
  EXPECT_TRUE(fails_with(parse_status(j), {"must be an integer", "got true"}));
}

TEST_P(RequiredFieldTest, PastInt32IsRefused) {
  json j = llama_config();
  j[GetParam()] = int64_t{1} << 31;
  EXPECT_TRUE(
      fails_with(parse_status(j), {"must be an integer in [1, 2147483647], got 2147483648"}));
}

INSTANTIATE_TEST_SUITE_P(ModelConfigTest, RequiredFieldTest,
                         ::testing::Values("vocab_size", "hidden_size", "intermediate_size",
                                           "num_hidden_layers", "num_attention_heads",
                                           "max_position_embeddings"));

TEST(ModelConfigTest, IntegralFloatCountsAsAnInteger) {
  json j = llama_config();
  j["hidden_size"] = 64.0;
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->hidden_size, 64);
}

TEST(ModelConfigTest, OptionalHeadCountsMustBePositive) {
  for (const char* key : {"num_key_value_heads", "head_dim"}) {
    json j = llama_config();
    j[key] = 0;
    EXPECT_TRUE(fails_with(parse_status(j), {std::string("\"") + key +
                                             "\" must be an integer in [1, 2147483647], got 0"}));
  }
}

TEST(ModelConfigTest, KvHeadsDefaultToHeads) {
  json j = llama_config();
  j.erase("num_key_value_heads");
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->num_kv_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
}

TEST(ModelConfigTest, HeadsNotDividingHiddenSizeIsRefused) {
  json j = llama_config();
  j["hidden_size"] = 66;
  EXPECT_TRUE(fails_with(parse_status(j), {"config.json: \"hidden_size\" (66) is not divisible by "
                                           "num_attention_heads (4) and head_dim is not given"}));
  j["head_dim"] = 16;  // an explicit head_dim lifts the requirement (Qwen3 does this)
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->head_dim, 16);
}

TEST(ModelConfigTest, KvHeadsNotDividingHeadsIsRefused) {
  json j = llama_config();
  j["num_key_value_heads"] = 3;
  EXPECT_TRUE(fails_with(parse_status(j), {"config.json: \"num_attention_heads\" (4) is not "
                                           "divisible by num_key_value_heads (3)"}));
  j["num_key_value_heads"] = 8;  // more kv heads than heads
  EXPECT_TRUE(fails_with(parse_status(j), {"is not divisible by num_key_value_heads (8)"}));
}

TEST(ModelConfigTest, OddHeadDimIsRefused) {
  json j = llama_config();
  j["head_dim"] = 15;
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: \"head_dim\" must be even for rotary embeddings, got 15"}));
}

TEST(ModelConfigTest, HeadsTimesHeadDimOverflowIsRefused) {
  json j = llama_config();
  j["num_attention_heads"] = 1 << 16;
  j["num_key_value_heads"] = 1 << 16;
  j["head_dim"] = 1 << 16;
  EXPECT_TRUE(fails_with(parse_status(j), {"\"head_dim\" times num_attention_heads overflows"}));
}

TEST(ModelConfigTest, NonPositiveRmsNormEpsIsRefused) {
  json j = llama_config();
  j["rms_norm_eps"] = 0;
  EXPECT_TRUE(fails_with(parse_status(j), {"config.json: \"rms_norm_eps\" must be positive"}));
  j["rms_norm_eps"] = "1e-5";
  EXPECT_TRUE(fails_with(parse_status(j), {"\"rms_norm_eps\" must be a number, got \"1e-5\""}));
}

TEST(ModelConfigTest, BooleanFieldsMustBeBooleans) {
  json j = llama_config();
  j["tie_word_embeddings"] = "yes";
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: \"tie_word_embeddings\" must be a boolean, got \"yes\""}));
  j = llama_config();
  j["attention_bias"] = 1;
  EXPECT_TRUE(fails_with(parse_status(j), {"\"attention_bias\" must be a boolean, got 1"}));
}

TEST(ModelConfigTest, SourceFolderPrefixesMessages) {
  json j = llama_config();
  j.erase("vocab_size");
  EXPECT_TRUE(fails_with(parse_model_config(j.dump(), std::nullopt, "/models/x").status(),
                         {"/models/x/config.json: \"vocab_size\" is missing"}));
}

// --- per-architecture options ----------------------------------------------

TEST(ModelConfigTest, LlamaAttentionAndMlpBias) {
  json j = llama_config();
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_TRUE(c->o_bias);
  EXPECT_TRUE(c->mlp_bias);
  EXPECT_FALSE(c->qk_norm);
}

TEST(ModelConfigTest, Qwen2AlwaysHasQkvBiasAndNoOBias) {
  json j = llama_config();
  j["architectures"] = {"Qwen2ForCausalLM"};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->architecture, Architecture::kQwen2);
  EXPECT_TRUE(c->qkv_bias);
  EXPECT_FALSE(c->o_bias);
  EXPECT_FALSE(c->qk_norm);
}

TEST(ModelConfigTest, Qwen3HasQkNorm) {
  json j = llama_config();
  j["architectures"] = {"Qwen3ForCausalLM"};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_TRUE(c->qk_norm);
  EXPECT_FALSE(c->qkv_bias);
}

TEST(ModelConfigTest, MistralSlidingWindow) {
  json j = llama_config();
  j["architectures"] = {"MistralForCausalLM"};
  auto absent = parse(j);
  ASSERT_TRUE(absent.ok()) << absent.status().to_string();
  EXPECT_EQ(absent->sliding_window, 4096);  // transformers' default
  j["sliding_window"] = nullptr;
  auto none = parse(j);
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_EQ(none->sliding_window, 0);
  j["sliding_window"] = 16;
  auto given = parse(j);
  ASSERT_TRUE(given.ok()) << given.status().to_string();
  EXPECT_EQ(given->sliding_window, 16);
  j["sliding_window"] = 0;
  EXPECT_TRUE(fails_with(parse_status(j), {"\"sliding_window\" must be an integer in [1, "}));
}

TEST(ModelConfigTest, QwenSlidingWindowOnSomeLayersIsRefused) {
  json j = llama_config();
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["use_sliding_window"] = true;
  j["sliding_window"] = 64;
  j["max_window_layers"] = 1;  // layer 1 of 2 slides
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"\"use_sliding_window\" with a sliding window on 1 of 2 layers is not "
                          "supported (supported: on all layers or on none)"}));
  j["max_window_layers"] = 0;
  auto all = parse(j);
  ASSERT_TRUE(all.ok()) << all.status().to_string();
  EXPECT_EQ(all->sliding_window, 64);
  j.erase("max_window_layers");
  j["layer_types"] = {"full_attention", "chunked_attention"};
  EXPECT_TRUE(
      fails_with(parse_status(j), {"\"layer_types\" entry \"chunked_attention\" is not supported "
                                   "(supported: full_attention, sliding_attention)"}));
  j["layer_types"] = {"full_attention"};
  EXPECT_TRUE(fails_with(parse_status(j), {"\"layer_types\" must list one entry per layer (2)"}));
}

// --- bos / eos --------------------------------------------------------------

TEST(ModelConfigTest, EosFromConfigWhenNoGenerationConfig) {
  json j = llama_config();
  j["eos_token_id"] = {2, 5};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->eos_token_ids, (std::vector<int>{2, 5}));
  EXPECT_EQ(c->bos_token_id, 1);
}

TEST(ModelConfigTest, GenerationConfigEosAsIntAndAsList) {
  auto as_int = parse(llama_config(), R"({"eos_token_id": 7})");
  ASSERT_TRUE(as_int.ok()) << as_int.status().to_string();
  EXPECT_EQ(as_int->eos_token_ids, std::vector<int>{7});
  auto as_list = parse(llama_config(), R"({"eos_token_id": [7, 8, 9]})");
  ASSERT_TRUE(as_list.ok()) << as_list.status().to_string();
  EXPECT_EQ(as_list->eos_token_ids, (std::vector<int>{7, 8, 9}));
  EXPECT_EQ(as_list->bos_token_id, 1);  // not named there: config.json's
}

TEST(ModelConfigTest, GenerationConfigBosWins) {
  auto c = parse(llama_config(), R"({"bos_token_id": 3})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->bos_token_id, 3);
  EXPECT_EQ(c->eos_token_ids, std::vector<int>{2});
  auto listed = parse(llama_config(), R"({"bos_token_id": [4]})");
  ASSERT_TRUE(listed.ok()) << listed.status().to_string();
  EXPECT_EQ(listed->bos_token_id, 4);
}

TEST(ModelConfigTest, GenerationConfigNullFallsBackToConfig) {
  auto c = parse(llama_config(), R"({"eos_token_id": null, "bos_token_id": null})");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->eos_token_ids, std::vector<int>{2});
  EXPECT_EQ(c->bos_token_id, 1);
}

TEST(ModelConfigTest, NoTokenIdsAnywhere) {
  json j = llama_config();
  j.erase("bos_token_id");
  j.erase("eos_token_id");
  auto c = parse(j, "{}");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_FALSE(c->bos_token_id.has_value());
  EXPECT_TRUE(c->eos_token_ids.empty());
}

TEST(ModelConfigTest, AbsentGenerationConfigFileUsesConfig) {
  TempDir dir;
  json j = llama_config();
  j["eos_token_id"] = {2, 3};
  dir.write("config.json", j.dump());
  auto c = load_model_config(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->eos_token_ids, (std::vector<int>{2, 3}));
  dir.write("generation_config.json", R"({"eos_token_id": [9, 10]})");
  auto with = load_model_config(dir.path());
  ASSERT_TRUE(with.ok()) << with.status().to_string();
  EXPECT_EQ(with->eos_token_ids, (std::vector<int>{9, 10}));
}

TEST(ModelConfigTest, TokenIdOutsideTheVocabularyIsRefused) {
  EXPECT_TRUE(
      fails_with(parse_status(llama_config(), R"({"eos_token_id": [2, 32]})"),
                 {"generation_config.json: \"eos_token_id\" must hold token ids in [0, 32), "
                  "got 32"}));
  EXPECT_TRUE(fails_with(parse_status(llama_config(), R"({"eos_token_id": -1})"),
                         {"\"eos_token_id\" must hold token ids in [0, 32), got -1"}));
  EXPECT_TRUE(fails_with(parse_status(llama_config(), R"({"eos_token_id": ["</s>"]})"),
                         {"\"eos_token_id\" must hold token ids", "got \"</s>\""}));
  json j = llama_config();
  j["bos_token_id"] = 99;
  EXPECT_TRUE(fails_with(parse_status(j),
                         {"config.json: \"bos_token_id\" must hold token ids in [0, 32), got 99"}));
}

TEST(ModelConfigTest, BosMustBeOneToken) {
  EXPECT_TRUE(fails_with(parse_status(llama_config(), R"({"bos_token_id": [1, 2]})"),
                         {"generation_config.json: \"bos_token_id\" must be a single token id"}));
  EXPECT_TRUE(fails_with(parse_status(llama_config(), R"({"bos_token_id": []})"),
                         {"\"bos_token_id\" must be a single token id"}));
}

TEST(ModelConfigTest, BadGenerationConfigNamesItsFile) {
  TempDir dir;
  dir.write("config.json", llama_config().dump());
  dir.write("generation_config.json", "{eos: 2}");
  EXPECT_TRUE(fails_with(load_model_config(dir.path()).status(),
                         {(dir.path() / "generation_config.json").string(), ": invalid JSON: "}));
  dir.write("generation_config.json", "[2]");
  EXPECT_TRUE(fails_with(load_model_config(dir.path()).status(),
                         {"generation_config.json: must be a JSON object"}));
}

}  // namespace
}  // namespace pdserve::model
