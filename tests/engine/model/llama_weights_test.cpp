#include "engine/model/llama_weights.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tests/engine/model/model_test_files.h"

namespace pdserve::model {
namespace {

using nlohmann::json;
using testing::fails_with;
using testing::safetensors_file;
using testing::TempDir;
using testing::TensorSpec;

// vocab 16, hidden 8, 2 heads of 4, 1 kv head, MLP 12, 2 layers.
json tiny_config(const char* architecture = "LlamaForCausalLM") {
  json j = json::parse(R"({
    "vocab_size": 16, "hidden_size": 8, "intermediate_size": 12,
    "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
    "max_position_embeddings": 64})");
  j["architectures"] = {architecture};
  return j;
}

ModelConfig config_of(const json& j) {
  auto c = parse_model_config(j.dump(), std::nullopt, "");
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : ModelConfig{};
}

// Every tensor `c` needs, as transformers names them, plus lm_head.weight.
std::vector<TensorSpec> tensors_for(const ModelConfig& c, const std::string& dtype = "BF16") {
  const int64_t h = c.hidden_size, q = int64_t{c.num_heads} * c.head_dim,
                kv = int64_t{c.num_kv_heads} * c.head_dim, i = c.intermediate_size;
  std::vector<TensorSpec> t = {{"model.embed_tokens.weight", {c.vocab_size, h}, dtype},
                               {"model.norm.weight", {h}, dtype},
                               {"lm_head.weight", {c.vocab_size, h}, dtype}};
  for (int l = 0; l < c.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto add = [&](const std::string& name, std::vector<int64_t> shape) {
      t.push_back({p + name, std::move(shape), dtype});
    };
    add("input_layernorm.weight", {h});
    add("post_attention_layernorm.weight", {h});
    add("self_attn.q_proj.weight", {q, h});
    add("self_attn.k_proj.weight", {kv, h});
    add("self_attn.v_proj.weight", {kv, h});
    add("self_attn.o_proj.weight", {h, q});
    add("mlp.gate_proj.weight", {i, h});
    add("mlp.up_proj.weight", {i, h});
    add("mlp.down_proj.weight", {h, i});
    if (c.qkv_bias) {
      add("self_attn.q_proj.bias", {q});
      add("self_attn.k_proj.bias", {kv});
      add("self_attn.v_proj.bias", {kv});
    }
    if (c.o_bias) add("self_attn.o_proj.bias", {h});
    if (c.qk_norm) {
      add("self_attn.q_norm.weight", {c.head_dim});
      add("self_attn.k_norm.weight", {c.head_dim});
    }
    if (c.mlp_bias) {
      add("mlp.gate_proj.bias", {i});
      add("mlp.up_proj.bias", {i});
      add("mlp.down_proj.bias", {h});
    }
  }
  return t;
}

void remove_tensor(std::vector<TensorSpec>& t, const std::string& name) {
  auto it = std::find_if(t.begin(), t.end(), [&](const TensorSpec& s) { return s.name == name; });
  ASSERT_NE(it, t.end()) << name;
  t.erase(it);
}

TensorSpec& spec(std::vector<TensorSpec>& t, const std::string& name) {
  auto it = std::find_if(t.begin(), t.end(), [&](const TensorSpec& s) { return s.name == name; });
  EXPECT_NE(it, t.end()) << name;
  return *it;
}

// Writes `tensors` as dir/model.safetensors and binds them against `c`. The
// checkpoint stays open in `held` so that the views remain valid.
class LlamaWeightsTest : public ::testing::Test {
 protected:
  Result<LlamaWeights> bind(const std::vector<TensorSpec>& tensors, const ModelConfig& c) {
    held_.reset();  // unmap before the file is rewritten
    dir_.write("model.safetensors", safetensors_file(tensors));
    auto checkpoint = Checkpoint::open(dir_.path());
    if (!checkpoint.ok()) return checkpoint.status();
    held_.emplace(std::move(checkpoint).value());
    return bind_llama_weights(*held_, c);
  }
  Status bind_status(const std::vector<TensorSpec>& tensors, const ModelConfig& c) {
    return bind(tensors, c).status();
  }

  TempDir dir_;
  std::optional<Checkpoint> held_;
};

TEST_F(LlamaWeightsTest, BindsEveryTensorOfALlama) {
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  t.push_back({"model.layers.0.self_attn.rotary_emb.inv_freq", {2}, "F32"});  // ignored
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_EQ(w->layers.size(), 2u);
  EXPECT_EQ(w->embed_tokens.name, "model.embed_tokens.weight");
  EXPECT_EQ(w->embed_tokens.shape, (std::vector<int64_t>{16, 8}));
  EXPECT_EQ(w->final_norm.name, "model.norm.weight");
  EXPECT_EQ(w->lm_head.name, "lm_head.weight");
  const LayerWeights& l1 = w->layers[1];
  EXPECT_EQ(l1.q_proj.name, "model.layers.1.self_attn.q_proj.weight");
  EXPECT_EQ(l1.k_proj.shape, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(l1.down_proj.shape, (std::vector<int64_t>{8, 12}));
  EXPECT_FALSE(l1.q_bias.has_value());
  EXPECT_FALSE(l1.o_bias.has_value());
  EXPECT_FALSE(l1.q_norm.has_value());
  EXPECT_FALSE(l1.gate_bias.has_value());
}

TEST_F(LlamaWeightsTest, EveryNeededTensorMissingIsNamed) {
  json j = tiny_config();
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  ModelConfig c = config_of(j);
  const std::vector<TensorSpec> all = tensors_for(c);
  ASSERT_TRUE(bind(all, c).ok());
  for (const TensorSpec& gone : all) {
    std::vector<TensorSpec> t = all;
    remove_tensor(t, gone.name);
    EXPECT_TRUE(fails_with(
        bind_status(t, c), StatusCode::kNotFound,
        {"model.safetensors: tensor \"" + gone.name + "\" is missing", "LlamaForCausalLM"}))
        << gone.name;
  }
}

TEST_F(LlamaWeightsTest, MissingTensorMessageGivesTheExpectedShapeAndTheReason) {
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  remove_tensor(t, "model.layers.1.self_attn.k_proj.weight");
  EXPECT_TRUE(fails_with(bind_status(t, c), StatusCode::kNotFound,
                         {"model.safetensors: tensor \"model.layers.1.self_attn.k_proj.weight\" is "
                          "missing (expected shape [4, 8], LlamaForCausalLM)"}));
  t = tensors_for(c);
  remove_tensor(t, "lm_head.weight");
  EXPECT_TRUE(fails_with(bind_status(t, c), StatusCode::kNotFound,
                         {"tensor \"lm_head.weight\" is missing (expected shape [16, 8], "
                          "LlamaForCausalLM, tie_word_embeddings is false)"}));
}

TEST_F(LlamaWeightsTest, FewerLayersThanTheConfigSays) {
  json j = tiny_config();
  ModelConfig two = config_of(j);
  j["num_hidden_layers"] = 3;
  EXPECT_TRUE(fails_with(bind_status(tensors_for(two), config_of(j)), StatusCode::kNotFound,
                         {"tensor \"model.layers.2.input_layernorm.weight\" is missing"}));
}

// num_hidden_layers is read from the file: a huge one must fail on the first
// absent layer, not by sizing anything from it.
TEST_F(LlamaWeightsTest, HugeLayerCountFailsOnTheFirstAbsentLayer) {
  json j = tiny_config();
  ModelConfig two = config_of(j);
  j["num_hidden_layers"] = 2147483647;
  EXPECT_TRUE(fails_with(bind_status(tensors_for(two), config_of(j)), StatusCode::kNotFound,
                         {"tensor \"model.layers.2.input_layernorm.weight\" is missing"}));
}

TEST_F(LlamaWeightsTest, WrongShapeNamesTensorExpectedAndActual) {
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  spec(t, "model.layers.0.self_attn.q_proj.weight").shape = {8, 4};
  EXPECT_TRUE(fails_with(bind_status(t, c),
                         {"model.safetensors: tensor \"model.layers.0.self_attn.q_proj.weight\": "
                          "expected shape [8, 8], found [8, 4]"}));
  t = tensors_for(c);
  spec(t, "model.norm.weight").shape = {1, 8};
  EXPECT_TRUE(fails_with(bind_status(t, c), {"tensor \"model.norm.weight\": expected shape [8], "
                                             "found [1, 8]"}));
  t = tensors_for(c);
  spec(t, "model.embed_tokens.weight").shape = {8, 16};  // transposed
  EXPECT_TRUE(fails_with(bind_status(t, c), {"tensor \"model.embed_tokens.weight\": expected shape "
                                             "[16, 8], found [8, 16]"}));
  t = tensors_for(c);
  spec(t, "model.layers.1.mlp.down_proj.weight").shape = {12, 8};
  EXPECT_TRUE(fails_with(bind_status(t, c),
                         {"tensor \"model.layers.1.mlp.down_proj.weight\": expected shape [8, 12], "
                          "found [12, 8]"}));
}

TEST_F(LlamaWeightsTest, NonFloatDtypeIsRefused) {
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  spec(t, "model.layers.0.mlp.up_proj.weight").dtype = "I32";
  EXPECT_TRUE(fails_with(bind_status(t, c),
                         {"model.safetensors: tensor \"model.layers.0.mlp.up_proj.weight\": dtype "
                          "I32 is not a float type (supported: F32, F16, BF16)"}));
}

TEST_F(LlamaWeightsTest, MixedFloatDtypesAreAccepted) {
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  spec(t, "model.norm.weight").dtype = "F32";
  spec(t, "lm_head.weight").dtype = "F16";
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->final_norm.dtype, backend::DType::kF32);
  EXPECT_EQ(w->lm_head.dtype, backend::DType::kF16);
}

TEST_F(LlamaWeightsTest, TiedEmbeddingsWithoutLmHead) {
  json j = tiny_config();
  j["tie_word_embeddings"] = true;
  ModelConfig c = config_of(j);
  std::vector<TensorSpec> t = tensors_for(c);
  remove_tensor(t, "lm_head.weight");
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->lm_head.name, "model.embed_tokens.weight");
  EXPECT_EQ(w->lm_head.data, w->embed_tokens.data);
}

TEST_F(LlamaWeightsTest, TiedEmbeddingsIgnoreAStoredLmHead) {
  json j = tiny_config();
  j["tie_word_embeddings"] = true;
  ModelConfig c = config_of(j);
  std::vector<TensorSpec> t = tensors_for(c);
  spec(t, "lm_head.weight").shape = {3, 3};  // even a wrong one, as transformers does
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(w->lm_head.data, w->embed_tokens.data);
  EXPECT_EQ(w->lm_head.shape, (std::vector<int64_t>{16, 8}));
}

TEST_F(LlamaWeightsTest, Qwen2NeedsQkvBiasButNoOBias) {
  ModelConfig c = config_of(tiny_config("Qwen2ForCausalLM"));
  std::vector<TensorSpec> t = tensors_for(c);
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE(w->layers[0].q_bias.has_value());
  EXPECT_EQ(w->layers[0].q_bias->shape, std::vector<int64_t>{8});
  EXPECT_EQ(w->layers[0].k_bias->shape, std::vector<int64_t>{4});
  EXPECT_EQ(w->layers[0].v_bias->name, "model.layers.0.self_attn.v_proj.bias");
  EXPECT_FALSE(w->layers[0].o_bias.has_value());

  for (const char* bias : {"q_proj", "k_proj", "v_proj"}) {
    std::vector<TensorSpec> missing = t;
    const std::string name = std::string("model.layers.1.self_attn.") + bias + ".bias";
    remove_tensor(missing, name);
    EXPECT_TRUE(fails_with(bind_status(missing, c), StatusCode::kNotFound,
                           {"tensor \"" + name + "\" is missing",
                            "Qwen2ForCausalLM, Qwen2 has "
                            "q/k/v bias)"}));
  }
  spec(t, "model.layers.0.self_attn.k_proj.bias").shape = {8};
  EXPECT_TRUE(fails_with(bind_status(t, c), {"tensor \"model.layers.0.self_attn.k_proj.bias\": "
                                             "expected shape [4], found [8]"}));
}

TEST_F(LlamaWeightsTest, Qwen3NeedsQkNorms) {
  json j = tiny_config("Qwen3ForCausalLM");
  j["head_dim"] = 6;  // explicit, != hidden / heads
  ModelConfig c = config_of(j);
  std::vector<TensorSpec> t = tensors_for(c);
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_TRUE(w->layers[1].q_norm.has_value());
  EXPECT_EQ(w->layers[1].q_norm->shape, std::vector<int64_t>{6});
  EXPECT_EQ(w->layers[1].k_norm->name, "model.layers.1.self_attn.k_norm.weight");
  EXPECT_EQ(w->layers[1].q_proj.shape, (std::vector<int64_t>{12, 8}));
  EXPECT_EQ(w->layers[1].o_proj.shape, (std::vector<int64_t>{8, 12}));
  EXPECT_FALSE(w->layers[1].q_bias.has_value());

  for (const char* norm : {"q_norm", "k_norm"}) {
    std::vector<TensorSpec> missing = t;
    const std::string name = std::string("model.layers.0.self_attn.") + norm + ".weight";
    remove_tensor(missing, name);
    EXPECT_TRUE(fails_with(bind_status(missing, c), StatusCode::kNotFound,
                           {"tensor \"" + name +
                            "\" is missing (expected shape [6], "
                            "Qwen3ForCausalLM, Qwen3 has q/k norms)"}));
  }
  spec(t, "model.layers.0.self_attn.q_norm.weight").shape = {12};  // per head, not per q row
  EXPECT_TRUE(fails_with(bind_status(t, c), {"tensor \"model.layers.0.self_attn.q_norm.weight\": "
                                             "expected shape [6], found [12]"}));
}

TEST_F(LlamaWeightsTest, LlamaBiasesOnlyWhenTheConfigSays) {
  json j = tiny_config();
  j["attention_bias"] = true;
  ModelConfig c = config_of(j);
  std::vector<TensorSpec> t = tensors_for(c);
  auto w = bind(t, c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_TRUE(w->layers[0].o_bias.has_value());
  EXPECT_FALSE(w->layers[0].gate_bias.has_value());
  remove_tensor(t, "model.layers.0.self_attn.o_proj.bias");
  EXPECT_TRUE(fails_with(bind_status(t, c), StatusCode::kNotFound,
                         {"tensor \"model.layers.0.self_attn.o_proj.bias\" is missing (expected "
                          "shape [8], LlamaForCausalLM, attention_bias is true)"}));
  // Biases the config does not ask for are ignored.
  ModelConfig plain = config_of(tiny_config());
  auto ignored = bind(tensors_for(c), plain);
  ASSERT_TRUE(ignored.ok()) << ignored.status().to_string();
  EXPECT_FALSE(ignored->layers[0].q_bias.has_value());
}

TEST_F(LlamaWeightsTest, MissingTensorOfAShardedCheckpointNamesTheIndex) {
  TempDir dir;
  ModelConfig c = config_of(tiny_config());
  std::vector<TensorSpec> t = tensors_for(c);
  remove_tensor(t, "model.norm.weight");
  dir.write("one.safetensors", safetensors_file(t));
  json map = json::object();
  for (const TensorSpec& s : t) map[s.name] = "one.safetensors";
  dir.write("model.safetensors.index.json", json{{"weight_map", map}}.dump());
  auto checkpoint = Checkpoint::open(dir.path());
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().to_string();
  EXPECT_TRUE(fails_with(bind_llama_weights(*checkpoint, c).status(), StatusCode::kNotFound,
                         {"model.safetensors.index.json: tensor \"model.norm.weight\" is missing "
                          "(expected shape [8], LlamaForCausalLM)"}));
}

// The committed fixtures, one per supported shape.
class FixtureWeightsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(FixtureWeightsTest, Binds) {
  const auto dir = testing::fixture_dir(GetParam());
  auto config = load_model_config(dir);
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  auto checkpoint = Checkpoint::open(dir);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().to_string();
  auto w = bind_llama_weights(*checkpoint, *config);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  ASSERT_EQ(w->layers.size(), static_cast<size_t>(config->num_layers));
  EXPECT_EQ(config->tie_word_embeddings, w->lm_head.data == w->embed_tokens.data);
  for (const LayerWeights& l : w->layers) {
    EXPECT_EQ(l.q_bias.has_value(), config->qkv_bias);
    EXPECT_EQ(l.o_bias.has_value(), config->o_bias);
    EXPECT_EQ(l.q_norm.has_value(), config->qk_norm);
    EXPECT_EQ(l.gate_bias.has_value(), config->mlp_bias);
  }
}

INSTANTIATE_TEST_SUITE_P(LlamaWeightsTest, FixtureWeightsTest,
                         ::testing::Values("llama3", "mistral", "qwen2", "qwen3", "mha", "mqa",
                                           "sharded"));

}  // namespace
}  // namespace pdserve::model
