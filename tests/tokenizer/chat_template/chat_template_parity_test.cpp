// Parity with Python jinja2 as transformers configures it: every case in
// tests/fixtures/chat_templates/cases.json (written by
// tools/make_chat_template_fixtures.py) must render byte-identically, or fail
// the way Python failed (raise_exception messages exactly).
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::chat_template {
namespace {

constexpr int64_t kNowUnixSeconds = 1737000000;  // NOW_UNIX_SECONDS in the generator

std::string fixtures_dir() {
  return std::string(PDSERVE_SOURCE_DIR) + "/tests/fixtures/chat_templates";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ChatTemplateParity : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }

  const ChatTemplate& template_for(const std::string& name) {
    auto it = compiled_.find(name);
    if (it != compiled_.end()) return it->second;
    std::string source;
    if (name == "@demo") {
      auto config =
          load_chat_template_config(std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo");
      EXPECT_TRUE(config.ok()) << config.status().to_string();
      source = config->chat_template;
    } else {
      source = read_text(fixtures_dir() + "/templates/" + name + ".jinja");
    }
    auto compiled = ChatTemplate::compile(source);
    EXPECT_TRUE(compiled.ok()) << name << ": " << compiled.status().to_string();
    return compiled_.emplace(name, std::move(compiled).value()).first->second;
  }

  std::map<std::string, ChatTemplate> compiled_;
};

TEST_F(ChatTemplateParity, EveryFixtureCaseMatchesJinja2) {
  auto cases = nlohmann::ordered_json::parse(read_text(fixtures_dir() + "/cases.json"));
  ASSERT_TRUE(cases.is_array());
  ASSERT_GT(cases.size(), 100u);
  RenderOptions options;
  options.now_unix_seconds = kNowUnixSeconds;
  int num_failed = 0;
  for (const auto& c : cases) {
    const std::string label =
        c["template"].get<std::string>() + " / " + c["name"].get<std::string>() +
        (c.contains("source") ? "\n--- template\n" + c["source"].get<std::string>() : "");
    Result<std::string> out = internal_error("not rendered");
    if (c.contains("source")) {
      auto compiled = ChatTemplate::compile(c["source"].get<std::string>());
      out = compiled.ok() ? compiled->render(c["context"].dump(), options) : compiled.status();
    } else {
      out = template_for(c["template"].get<std::string>()).render(c["context"].dump(), options);
    }
    if (c.contains("expected")) {
      const std::string expected = c["expected"].get<std::string>();
      if (!out.ok() || *out != expected) {
        ++num_failed;
        ADD_FAILURE() << label << "\n--- expected\n"
                      << expected << "\n--- got\n"
                      << (out.ok() ? *out : out.status().to_string());
      }
      continue;
    }
    const auto& error = c["error"];
    const std::string message = error["message"].get<std::string>();
    if (out.ok() || out.status().code() != StatusCode::kInvalidArgument ||
        (error["raise_exception"].get<bool>() && out.status().message() != message)) {
      ++num_failed;
      ADD_FAILURE() << label << "\n--- expected error\n"
                    << message << "\n--- got\n"
                    << (out.ok() ? "OK: " + *out : out.status().to_string());
    }
  }
  EXPECT_EQ(num_failed, 0) << "of " << cases.size() << " cases";
}

}  // namespace
}  // namespace pdserve::chat_template
