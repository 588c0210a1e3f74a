// load_chat_template_config: the files transformers reads, and the demo
// model's template rendered to the exact prompt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::chat_template {
namespace {

namespace fs = std::filesystem;

class ChatTemplateConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("chat_template_config_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  fs::path dir_;
};

TEST_F(ChatTemplateConfigTest, StringTemplateAndPlainTokens) {
  write(
      "tokenizer_config.json",
      R"({"chat_template": "{{ bos_token }}hi", "bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})");
  auto c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->chat_template, "{{ bos_token }}hi");
  EXPECT_TRUE(c->named_templates.empty());
  EXPECT_EQ(c->bos_token, "<s>");
  EXPECT_EQ(c->eos_token, "</s>");
  EXPECT_TRUE(c->add_bos_token);
}

TEST_F(ChatTemplateConfigTest, NamedTemplatesAndAddedTokenDicts) {
  write("tokenizer_config.json", R"({
    "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}],
    "bos_token": {"__type": "AddedToken", "content": "<|begin|>", "lstrip": false},
    "eos_token": null})");
  auto c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->chat_template, "D");
  EXPECT_EQ(c->named_templates.size(), 2u);
  EXPECT_EQ(c->named_templates.at("tool_use"), "T");
  EXPECT_EQ(c->bos_token, "<|begin|>");
  EXPECT_EQ(c->eos_token, "");
  EXPECT_FALSE(c->add_bos_token);
}

TEST_F(ChatTemplateConfigTest, EverySpecialTokenAsTransformersMapsThem) {
  write("tokenizer_config.json", R"({
    "pad_token": "<pad>", "unk_token": {"content": "<unk>"}, "eos_token": "</s>",
    "bos_token": "<s>", "mask_token": null, "sep_token": "",
    "additional_special_tokens": ["<|tool|>", {"content": "<|img|>"}]})");
  auto c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  // special_tokens_map's order; unset, null and empty ones left out.
  EXPECT_EQ(c->special_tokens_json,
            R"({"bos_token":"<s>","eos_token":"</s>","unk_token":"<unk>","pad_token":"<pad>",)"
            R"("additional_special_tokens":["<|tool|>","<|img|>"]})");
  write("tokenizer_config.json", R"({"additional_special_tokens": []})");
  EXPECT_EQ(load_chat_template_config(dir_.string())->special_tokens_json, "{}");
  write("tokenizer_config.json", R"({"additional_special_tokens": "<x>"})");
  EXPECT_NE(load_chat_template_config(dir_.string())
                .status()
                .message()
                .find("additional_special_tokens must be a list"),
            std::string::npos);
  write("tokenizer_config.json", R"({"pad_token": 3})");
  EXPECT_NE(load_chat_template_config(dir_.string())
                .status()
                .message()
                .find("pad_token must be a string or an AddedToken dict"),
            std::string::npos);
}

TEST_F(ChatTemplateConfigTest, SeparateTemplateFilesWin) {
  write("tokenizer_config.json", R"({"chat_template": "from config"})");
  write("chat_template.json", R"({"chat_template": "from json"})");
  auto c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->chat_template, "from json");
  write("chat_template.jinja", "from jinja\n");
  c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->chat_template, "from jinja\n");
}

TEST_F(ChatTemplateConfigTest, NoTemplateIsNotAnError) {
  write("tokenizer_config.json", R"({"eos_token": "</s>"})");
  auto c = load_chat_template_config(dir_.string());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->chat_template, "");
}

TEST_F(ChatTemplateConfigTest, Errors) {
  EXPECT_EQ(load_chat_template_config(dir_.string()).status().code(), StatusCode::kNotFound);
  write("tokenizer_config.json", "{broken");
  EXPECT_EQ(load_chat_template_config(dir_.string()).status().code(), StatusCode::kInvalidArgument);
  write("tokenizer_config.json", R"({"chat_template": 5})");
  EXPECT_EQ(load_chat_template_config(dir_.string()).status().code(), StatusCode::kInvalidArgument);
  write("tokenizer_config.json", R"({"bos_token": 5})");
  EXPECT_EQ(load_chat_template_config(dir_.string()).status().code(), StatusCode::kInvalidArgument);
}

TEST(ChatTemplateDemoModel, RendersTheExactPrompt) {
  auto config = load_chat_template_config(std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  EXPECT_EQ(config->bos_token, "<|endoftext|>");
  EXPECT_EQ(config->eos_token, "<|end|>");
  auto tmpl = ChatTemplate::compile(config->chat_template);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().to_string();
  const std::string messages =
      R"("messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"},)"
      R"( {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}])";
  auto prompt = tmpl->render(
      "{" + messages +
      R"(, "add_generation_prompt": true, "bos_token": "<|endoftext|>", "eos_token": "<|end|>"})");
  ASSERT_TRUE(prompt.ok()) << prompt.status().to_string();
  EXPECT_EQ(*prompt,
            "<|endoftext|><|system|>\nBe brief.<|end|>\n<|user|>\nHi!<|end|>\n<|assistant|>\n"
            "Hello.<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n");
  auto bad = tmpl->render(R"({"messages": [{"role": "tool", "content": "x"}], "bos_token": ""})");
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "Only system, user and assistant roles are supported.");
}

}  // namespace
}  // namespace pdserve::chat_template
