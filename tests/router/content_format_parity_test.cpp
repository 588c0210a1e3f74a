// Content formats against Python jinja2 and vLLM: every case in
// tests/fixtures/chat_templates/content_format/cases.json (written by
// tools/make_content_format_fixtures.py) is a request's messages, a template
// and a --chat-template-content-format; the router must detect the format
// vLLM detects and render the prompt jinja2 rendered from the messages as
// vLLM shapes them (byte for byte), or fail where Python failed. The other
// parity templates and the demo model's must be detected as vLLM detects them
// (detected.json, by the same tool).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>

#include "router/completion_handler.h"

namespace pdserve::router {
namespace {

const std::string kDir =
    std::string(PDSERVE_SOURCE_DIR) + "/tests/fixtures/chat_templates/content_format/";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<ContentFormat> format_named(const std::string& name) {
  if (name == "auto") return std::nullopt;
  return name == "openai" ? ContentFormat::kOpenAi : ContentFormat::kString;
}

TEST(ContentFormatParityTest, EveryCaseMatchesVllmAndJinja2) {
  const auto cases = nlohmann::ordered_json::parse(read_text(kDir + "cases.json"));
  ASSERT_GE(cases.size(), 48u);
  std::map<std::string, chat_template::ChatTemplate> templates;
  int num_openai = 0;
  for (const auto& c : cases) {
    const std::string name = c["template"].get<std::string>();
    const std::string label = name + " / " + c["conversation"].get<std::string>() + " / " +
                              c["format"].get<std::string>();
    if (!templates.contains(name)) {
      auto t = chat_template::ChatTemplate::compile(read_text(kDir + name + ".jinja"));
      ASSERT_TRUE(t.ok()) << name << ": " << t.status().message();
      templates.emplace(name, std::move(t).value());
    }
    const chat_template::ChatTemplate& t = templates.at(name);
    EXPECT_EQ(t.content_format(), *format_named(c["detected"].get<std::string>())) << name;
    num_openai += t.content_format() == ContentFormat::kOpenAi;

    nlohmann::ordered_json body = {{"model", "m"}, {"messages", c["messages"]}};
    auto req = parse_chat_request(body.dump());
    ASSERT_TRUE(req.ok()) << label << ": " << req.error().message;
    ServedModel model;
    model.chat_template = &t;
    model.special_tokens_json = c["special_tokens"].dump();
    model.content_format = format_named(c["format"].get<std::string>());
    ApiResult<std::string> out = model.render_chat(req->chat);
    if (c.contains("expected")) {
      ASSERT_TRUE(out.ok()) << label << ": " << out.error().message;
      EXPECT_EQ(out.value(), c["expected"].get<std::string>()) << label;
    } else {
      EXPECT_FALSE(out.ok()) << label << " rendered " << out.value()
                             << "; Python failed: " << c["error"]["message"].get<std::string>();
    }
  }
  EXPECT_GT(num_openai, 0);
}

TEST(ContentFormatParityTest, OtherTemplatesAreDetectedAsVllmDetectsThem) {
  const auto detected = nlohmann::json::parse(read_text(kDir + "detected.json"));
  ASSERT_GE(detected.size(), 10u);
  for (const auto& [path, format] : detected.items()) {
    const std::string file = std::string(PDSERVE_SOURCE_DIR) + "/" + path;
    std::string source;
    if (path.ends_with("tokenizer_config.json")) {  // the demo model's
      auto config = chat_template::load_chat_template_config(
          file.substr(0, file.size() - std::string_view("/tokenizer_config.json").size()));
      ASSERT_TRUE(config.ok()) << config.status().message();
      source = config->chat_template;
    } else {
      source = read_text(file);
    }
    auto t = chat_template::ChatTemplate::compile(source);
    ASSERT_TRUE(t.ok()) << path << ": " << t.status().message();
    EXPECT_EQ(t->content_format(), *format_named(format.get<std::string>())) << path;
  }
}

}  // namespace
}  // namespace pdserve::router
