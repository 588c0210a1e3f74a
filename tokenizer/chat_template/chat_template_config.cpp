// load_chat_template_config: tokenizer_config.json, chat_template.jinja and
// chat_template.json, read the way transformers reads them.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/base/text_file.h"
#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::chat_template {
namespace {

using nlohmann::json;

// tokenizer_config.json, chat_template.json and chat_template.jinja: the
// largest published ones hold a few templates of some 100 KB.
constexpr size_t kMaxTemplateFileBytes = size_t{16} << 20;

Result<std::string> read_file(const std::filesystem::path& path) {
  return read_text_file(path, kMaxTemplateFileBytes, path.string());
}

Result<json> read_json(const std::filesystem::path& path) {
  PD_ASSIGN_OR_RETURN(std::string text, read_file(path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return invalid_argument(path.string() + ": not a JSON object");
  }
  return j;
}

// "chat_template": a string, or a list of {"name": ..., "template": ...}.
Status read_templates(const json& value, const std::string& where, ChatTemplateConfig* config) {
  if (value.is_string()) {
    config->chat_template = value.get<std::string>();
    config->named_templates.clear();
    return ok_status();
  }
  if (!value.is_array())
    return invalid_argument(where + ": chat_template must be a string or a list");
  config->chat_template.clear();
  config->named_templates.clear();
  for (const auto& entry : value) {
    if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string() ||
        !entry.contains("template") || !entry["template"].is_string()) {
      return invalid_argument(where + ": chat_template list entries need string name and template");
    }
    std::string name = entry["name"].get<std::string>();
    std::string tmpl = entry["template"].get<std::string>();
    if (name == "default") config->chat_template = tmpl;
    config->named_templates[name] = std::move(tmpl);
  }
  return ok_status();
}

Result<std::string> token_string(const json& cfg, const char* key, const std::string& where) {
  if (!cfg.contains(key) || cfg[key].is_null()) return std::string();
  const json& v = cfg[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return v["content"].get<std::string>();
  }
  return invalid_argument(where + ": " + key + " must be a string or an AddedToken dict");
}

// special_tokens_json: the special tokens the file sets, as transformers'
// special_tokens_map lists them.
Result<std::string> special_tokens(const json& cfg, const std::string& where) {
  nlohmann::ordered_json map = nlohmann::ordered_json::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token",
                          "cls_token", "mask_token"}) {
    PD_ASSIGN_OR_RETURN(std::string token, token_string(cfg, key, where));
    if (!token.empty()) map[key] = std::move(token);
  }
  auto extra = cfg.find("additional_special_tokens");
  if (extra != cfg.end() && !extra->is_null()) {
    if (!extra->is_array())
      return invalid_argument(where + ": additional_special_tokens must be a list");
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const json& t : *extra) {
      if (t.is_string()) {
        list.push_back(t.get<std::string>());
      } else if (t.is_object() && t.contains("content") && t["content"].is_string()) {
        list.push_back(t["content"].get<std::string>());
      } else {
        return invalid_argument(where +
                                ": additional_special_tokens entries must be strings or "
                                "AddedToken dicts");
      }
    }
    if (!list.empty()) map["additional_special_tokens"] = std::move(list);
  }
  return map.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

Result<ChatTemplateConfig> load_chat_template_config(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir(model_dir);
  const fs::path config_path = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!fs::exists(config_path, ec)) return not_found(config_path.string() + " does not exist");
  PD_ASSIGN_OR_RETURN(json cfg, read_json(config_path));
  const std::string where = config_path.string();

  ChatTemplateConfig config;
  PD_ASSIGN_OR_RETURN(config.bos_token, token_string(cfg, "bos_token", where));
  PD_ASSIGN_OR_RETURN(config.eos_token, token_string(cfg, "eos_token", where));
  PD_ASSIGN_OR_RETURN(config.special_tokens_json, special_tokens(cfg, where));
  if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
    config.add_bos_token = cfg["add_bos_token"].get<bool>();
  }
  if (cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
    PD_RETURN_IF_ERROR(read_templates(cfg["chat_template"], where, &config));
  }
  // Separate files win over tokenizer_config.json: chat_template.json (processor
  // style), then chat_template.jinja (the current transformers layout).
  const fs::path json_path = dir / "chat_template.json";
  if (fs::exists(json_path, ec)) {
    PD_ASSIGN_OR_RETURN(json j, read_json(json_path));
    if (j.contains("chat_template") && !j["chat_template"].is_null()) {
      PD_RETURN_IF_ERROR(read_templates(j["chat_template"], json_path.string(), &config));
    }
  }
  const fs::path jinja_path = dir / "chat_template.jinja";
  if (fs::exists(jinja_path, ec)) {
    PD_ASSIGN_OR_RETURN(std::string text, read_file(jinja_path));
    config.chat_template = std::move(text);
  }
  return config;
}

}  // namespace pdserve::chat_template
