// rope_config.h is internal; it is reached here through parse_model_config,
// as a checkpoint's config.json reaches it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/model/model_config.h"
#include "tests/engine/model/model_test_files.h"

namespace pdserve::model {
namespace {

using nlohmann::json;
using testing::fails_with;

constexpr const char* kSupported = "(supported: default, linear, dynamic, llama3, yarn)";

json llama_config() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"],
    "vocab_size": 32, "hidden_size": 64, "intermediate_size": 128,
    "num_hidden_layers": 2, "num_attention_heads": 4,
    "max_position_embeddings": 2048, "rope_theta": 500000.0})");
}

json llama3_scaling() {
  return json::parse(R"({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 256})");
}

Result<ModelConfig> parse(const json& config) {
  return parse_model_config(config.dump(), std::nullopt, "");
}

Result<ModelConfig> with_scaling(const json& scaling) {
  json j = llama_config();
  j["rope_scaling"] = scaling;
  return parse(j);
}

TEST(RopeConfigTest, NoScalingWhenAbsentNullOrDefault) {
  auto absent = parse(llama_config());
  ASSERT_TRUE(absent.ok()) << absent.status().to_string();
  EXPECT_EQ(absent->rope_scaling.type, RopeScalingType::kNone);
  EXPECT_DOUBLE_EQ(absent->rope_theta, 500000.0);
  auto null = with_scaling(nullptr);
  ASSERT_TRUE(null.ok()) << null.status().to_string();
  EXPECT_EQ(null->rope_scaling.type, RopeScalingType::kNone);
  auto def = with_scaling({{"rope_type", "default"}});
  ASSERT_TRUE(def.ok()) << def.status().to_string();
  EXPECT_EQ(def->rope_scaling.type, RopeScalingType::kNone);
}

TEST(RopeConfigTest, ThetaDefaultsAndMustBePositive) {
  json j = llama_config();
  j.erase("rope_theta");
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_DOUBLE_EQ(c->rope_theta, 10000.0);
  j["rope_theta"] = 0;
  EXPECT_TRUE(fails_with(parse(j).status(), {"config.json: \"rope_theta\" must be positive"}));
  j["rope_theta"] = "1e4";
  EXPECT_TRUE(fails_with(parse(j).status(), {"\"rope_theta\" must be a number, got \"1e4\""}));
}

TEST(RopeConfigTest, Llama3ScalingIsRead) {
  auto c = with_scaling(llama3_scaling());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_DOUBLE_EQ(c->rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c->rope_scaling.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c->rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 256);
}

TEST(RopeConfigTest, OlderTypeKeyIsAccepted) {
  auto c = with_scaling({{"type", "linear"}, {"factor", 2.0}});
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_DOUBLE_EQ(c->rope_scaling.factor, 2.0);
}

TEST(RopeConfigTest, UnsupportedTypeListsTheSupportedOnes) {
  EXPECT_TRUE(fails_with(
      with_scaling({{"rope_type", "longrope"}, {"factor", 2.0}}).status(),
      {"config.json: \"rope_scaling.rope_type\" \"longrope\" is not supported ", kSupported}));
  EXPECT_TRUE(fails_with(with_scaling({{"type", "su"}, {"factor", 2.0}}).status(),
                         {"\"rope_scaling.type\" \"su\" is not supported ", kSupported}));
}

TEST(RopeConfigTest, TypeNameFromTheFileStaysOnOneLine) {
  EXPECT_TRUE(fails_with(with_scaling({{"rope_type", "a\nb"}, {"factor", 2.0}}).status(),
                         {"\"rope_scaling.rope_type\" \"a\\nb\" is not supported"}));
}

TEST(RopeConfigTest, MissingTypeListsTheSupportedOnes) {
  EXPECT_TRUE(fails_with(with_scaling({{"factor", 2.0}}).status(),
                         {"\"rope_scaling.rope_type\" is missing (the older \"type\" is accepted",
                          "supported: default, linear, dynamic, llama3, yarn"}));
  EXPECT_TRUE(fails_with(with_scaling({{"rope_type", 3}}).status(),
                         {"\"rope_scaling.rope_type\" must be a string, got 3"}));
}

TEST(RopeConfigTest, ScalingMustBeAnObject) {
  EXPECT_TRUE(fails_with(with_scaling(8.0).status(),
                         {"config.json: \"rope_scaling\" must be an object, got 8.0"}));
}

TEST(RopeConfigTest, FactorMustBePresentAndPositive) {
  for (const char* type : {"linear", "dynamic", "llama3", "yarn"}) {
    json s = type == std::string("llama3") ? llama3_scaling() : json{{"rope_type", type}};
    s.erase("factor");
    EXPECT_TRUE(fails_with(with_scaling(s).status(), {"\"rope_scaling.factor\" is missing"}))
        << type;
    s["factor"] = 0.0;
    EXPECT_TRUE(
        fails_with(with_scaling(s).status(), {"\"rope_scaling.factor\" must be positive, got 0"}))
        << type;
    s["factor"] = -2;
    EXPECT_TRUE(fails_with(with_scaling(s).status(), {"must be positive, got -2"})) << type;
    s["factor"] = "8";
    EXPECT_TRUE(fails_with(with_scaling(s).status(),
                           {"\"rope_scaling.factor\" must be a number, got \"8\""}))
        << type;
  }
}

TEST(RopeConfigTest, Llama3NeedsItsParameters) {
  for (const char* key :
       {"original_max_position_embeddings", "low_freq_factor", "high_freq_factor"}) {
    json s = llama3_scaling();
    s.erase(key);
    EXPECT_TRUE(fails_with(with_scaling(s).status(),
                           {std::string("\"rope_scaling.") + key + "\" is missing"}));
  }
  json s = llama3_scaling();
  s["low_freq_factor"] = 0;
  EXPECT_TRUE(
      fails_with(with_scaling(s).status(), {"\"rope_scaling.low_freq_factor\" must be positive"}));
  s = llama3_scaling();
  s["original_max_position_embeddings"] = 0;
  EXPECT_TRUE(fails_with(with_scaling(s).status(),
                         {"\"rope_scaling.original_max_position_embeddings\" must be an integer in "
                          "[1, 2147483647], got 0"}));
}

TEST(RopeConfigTest, Llama3HighFreqFactorMustExceedLow) {
  json s = llama3_scaling();
  s["high_freq_factor"] = 1.0;
  EXPECT_TRUE(fails_with(with_scaling(s).status(),
                         {"\"rope_scaling.high_freq_factor\" must be greater than low_freq_factor "
                          "(1.000000), got 1.000000"}));
}

TEST(RopeConfigTest, YarnAndDynamicDefaults) {
  auto yarn = with_scaling({{"rope_type", "yarn"}, {"factor", 4.0}, {"beta_fast", 0}});
  ASSERT_TRUE(yarn.ok()) << yarn.status().to_string();
  EXPECT_EQ(yarn->rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_EQ(yarn->rope_scaling.original_max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(yarn->rope_scaling.beta_fast, 32.0);  // 0 reads as the default
  EXPECT_DOUBLE_EQ(yarn->rope_scaling.beta_slow, 1.0);
  EXPECT_TRUE(yarn->rope_scaling.truncate);
  EXPECT_FALSE(yarn->rope_scaling.mscale.has_value());
  auto dynamic = with_scaling(
      {{"rope_type", "dynamic"}, {"factor", 2.0}, {"original_max_position_embeddings", 1024}});
  ASSERT_TRUE(dynamic.ok()) << dynamic.status().to_string();
  EXPECT_EQ(dynamic->rope_scaling.original_max_position_embeddings, 1024);
}

TEST(RopeConfigTest, YarnBadValuesAreRefused) {
  EXPECT_TRUE(fails_with(
      with_scaling({{"rope_type", "yarn"}, {"factor", 4.0}, {"truncate", "no"}}).status(),
      {"\"rope_scaling.truncate\" must be a boolean, got \"no\""}));
  EXPECT_TRUE(
      fails_with(with_scaling({{"rope_type", "yarn"}, {"factor", 4.0}, {"mscale", "x"}}).status(),
                 {"\"rope_scaling.mscale\" must be a number, got \"x\""}));
}

// transformers 5 form, as the committed fixtures are written.
TEST(RopeConfigTest, RopeParametersObject) {
  json j = llama_config();
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_type", "yarn"},
                          {"factor", 4.0},
                          {"rope_theta", 1e6},
                          {"original_max_position_embeddings", 128}};
  auto c = parse(j);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->rope_scaling.original_max_position_embeddings, 128);

  j["rope_parameters"] = {{"rope_theta", 1e6}};  // no type: plain RoPE
  auto plain = parse(j);
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_EQ(plain->rope_scaling.type, RopeScalingType::kNone);

  j["rope_parameters"] = {{"rope_type", "ntk"}, {"factor", 2.0}};
  EXPECT_TRUE(fails_with(parse(j).status(),
                         {"\"rope_parameters.rope_type\" \"ntk\" is not supported", kSupported}));
  j["rope_parameters"] = {{"rope_theta", -1.0}};
  EXPECT_TRUE(fails_with(parse(j).status(), {"\"rope_parameters.rope_theta\" must be positive"}));
  j["rope_parameters"] = "yarn";
  EXPECT_TRUE(fails_with(parse(j).status(), {"\"rope_parameters\" must be an object"}));
}

TEST(RopeConfigTest, PerLayerTypeRopeParametersAreRefused) {
  json j = llama_config();
  j["rope_parameters"] = {{"full_attention", {{"rope_type", "default"}}},
                          {"sliding_attention", {{"rope_type", "default"}}}};
  EXPECT_TRUE(fails_with(parse(j).status(),
                         {"\"rope_parameters\" per layer type (full_attention/sliding_attention) "
                          "is not supported (supported: one rope_parameters object for all "
                          "layers)"}));
}

}  // namespace
}  // namespace pdserve::model
