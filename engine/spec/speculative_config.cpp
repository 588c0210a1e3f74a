#include "engine/spec/speculative_config.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/scheduler/scheduler_config.h"

namespace pdserve::spec {
namespace {

using nlohmann::json;

Status int_field(const json& j, const char* key, int min, int max, int* out) {
  if (!j.contains(key)) return ok_status();
  const json& v = j.at(key);
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    return invalid_argument(std::string(key) + " must be an integer in [" + std::to_string(min) +
                            ", " + std::to_string(max) + "], not " + v.dump());
  }
  *out = v.get<int>();
  return ok_status();
}

}  // namespace

Result<SpeculativeConfig> parse_speculative_config(std::string_view text) {
  const json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("not a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "method" && key != "num_speculative_tokens" && key != "prompt_lookup_max" &&
        key != "prompt_lookup_min" && key != "model" && key != "disable_by_batch_size") {
      return invalid_argument("unknown key \"" + key + "\"");
    }
  }
  SpeculativeConfig c;
  if (!j.contains("method") || !j.at("method").is_string()) {
    return invalid_argument("\"method\" must be \"ngram\" or \"draft_model\"");
  }
  const std::string method = j.at("method").get<std::string>();
  if (method == "ngram") {
    c.method = SpecMethod::kNgram;
  } else if (method == "draft_model") {
    c.method = SpecMethod::kDraftModel;
  } else {
    return invalid_argument("\"method\" must be \"ngram\" or \"draft_model\", not \"" + method +
                            "\"");
  }
  PD_RETURN_IF_ERROR(int_field(j, "num_speculative_tokens", 1, scheduler::kMaxSpeculativeTokens,
                               &c.num_speculative_tokens));
  PD_RETURN_IF_ERROR(int_field(j, "prompt_lookup_max", 1, 64, &c.prompt_lookup_max));
  PD_RETURN_IF_ERROR(int_field(j, "prompt_lookup_min", 1, 64, &c.prompt_lookup_min));
  PD_RETURN_IF_ERROR(int_field(j, "disable_by_batch_size", 1, 1 << 16, &c.disable_by_batch_size));
  if (c.prompt_lookup_min > c.prompt_lookup_max) {
    return invalid_argument("prompt_lookup_min " + std::to_string(c.prompt_lookup_min) +
                            " exceeds prompt_lookup_max " + std::to_string(c.prompt_lookup_max));
  }
  if (c.method == SpecMethod::kDraftModel) {
    if (!j.contains("model") || !j.at("model").is_string() ||
        j.at("model").get<std::string>().empty()) {
      return invalid_argument("draft_model needs \"model\": the draft checkpoint's folder");
    }
    c.model = j.at("model").get<std::string>();
    std::error_code ec;
    if (!std::filesystem::is_directory(c.model, ec)) {
      return invalid_argument("draft model folder " + c.model + " does not exist");
    }
  } else if (j.contains("model")) {
    return invalid_argument("\"model\" is for method draft_model");
  }
  return c;
}

}  // namespace pdserve::spec
