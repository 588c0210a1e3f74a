#include "engine/model/rope_config.h"

#include <climits>
#include <optional>
#include <string>

namespace pdserve::model {
namespace {

constexpr const char* kSupportedTypes = "default, linear, dynamic, llama3, yarn";

Result<RopeScalingType> scaling_type(const json_reader::FieldReader& rope, bool type_optional) {
  std::string key = "rope_type";
  PD_ASSIGN_OR_RETURN(std::optional<std::string> name, rope.optional_string("rope_type"));
  if (!name) {
    key = "type";
    PD_ASSIGN_OR_RETURN(name, rope.optional_string("type"));
  }
  if (!name) {
    if (type_optional) return RopeScalingType::kNone;
    return rope.error("rope_type", std::string("is missing (the older \"type\" is accepted too; ") +
                                       "supported: " + kSupportedTypes + ")");
  }
  if (*name == "default") return RopeScalingType::kNone;
  if (*name == "linear") return RopeScalingType::kLinear;
  if (*name == "dynamic") return RopeScalingType::kDynamic;
  if (*name == "llama3") return RopeScalingType::kLlama3;
  if (*name == "yarn") return RopeScalingType::kYarn;
  return rope.error(
      key, json_reader::quote(*name) + " is not supported (supported: " + kSupportedTypes + ")");
}

Result<double> positive_number(const json_reader::FieldReader& rope, const char* key) {
  PD_ASSIGN_OR_RETURN(std::optional<double> v, rope.optional_number(key));
  if (!v) return rope.error(key, "is missing");
  if (*v <= 0) return rope.error(key, "must be positive, got " + std::to_string(*v));
  return *v;
}

Result<RopeScaling> parse_scaling(const json_reader::FieldReader& rope, RopeScalingType type,
                                  int max_position_embeddings) {
  RopeScaling s;
  s.type = type;
  if (type == RopeScalingType::kNone) return s;
  PD_ASSIGN_OR_RETURN(s.factor, positive_number(rope, "factor"));
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> original,
                      rope.optional_int("original_max_position_embeddings", 1, INT_MAX));
  switch (type) {
    case RopeScalingType::kNone:
    case RopeScalingType::kLinear: break;
    case RopeScalingType::kDynamic:
      s.original_max_position_embeddings =
          static_cast<int>(original.value_or(max_position_embeddings));
      break;
    case RopeScalingType::kLlama3: {
      if (!original) return rope.error("original_max_position_embeddings", "is missing");
      s.original_max_position_embeddings = static_cast<int>(*original);
      PD_ASSIGN_OR_RETURN(s.low_freq_factor, positive_number(rope, "low_freq_factor"));
      PD_ASSIGN_OR_RETURN(s.high_freq_factor, positive_number(rope, "high_freq_factor"));
      if (s.high_freq_factor <= s.low_freq_factor) {
        return rope.error("high_freq_factor", "must be greater than low_freq_factor (" +
                                                  std::to_string(s.low_freq_factor) + "), got " +
                                                  std::to_string(s.high_freq_factor));
      }
      break;
    }
    case RopeScalingType::kYarn: {
      s.original_max_position_embeddings =
          static_cast<int>(original.value_or(max_position_embeddings));
      // transformers reads these with `get(...) or default`: 0 means the default too.
      PD_ASSIGN_OR_RETURN(double beta_fast, rope.number_or("beta_fast", 0.0));
      PD_ASSIGN_OR_RETURN(double beta_slow, rope.number_or("beta_slow", 0.0));
      s.beta_fast = beta_fast != 0.0 ? beta_fast : 32.0;
      s.beta_slow = beta_slow != 0.0 ? beta_slow : 1.0;
      PD_ASSIGN_OR_RETURN(s.mscale, rope.optional_number("mscale"));
      PD_ASSIGN_OR_RETURN(s.mscale_all_dim, rope.optional_number("mscale_all_dim"));
      PD_ASSIGN_OR_RETURN(s.attention_factor, rope.optional_number("attention_factor"));
      PD_ASSIGN_OR_RETURN(s.truncate, rope.bool_or("truncate", true));
      break;
    }
  }
  return s;
}

// transformers 5 may key rope_parameters by layer type ({"full_attention":
// {...}, "sliding_attention": {...}}) for models that mix attention kinds.
bool is_per_layer_type(const nlohmann::json& rope_parameters) {
  for (const auto& [key, value] : rope_parameters.items()) {
    if (key == "full_attention" || key == "sliding_attention") return value.is_object();
  }
  return false;
}

}  // namespace

Result<RopeSettings> parse_rope_settings(const json_reader::FieldReader& config,
                                         int max_position_embeddings) {
  RopeSettings out;
  PD_ASSIGN_OR_RETURN(std::optional<json_reader::FieldReader> parameters,
                      config.optional_object("rope_parameters"));
  PD_ASSIGN_OR_RETURN(double top_theta, config.number_or("rope_theta", 10000.0));
  if (parameters) {  // transformers 5
    if (is_per_layer_type(*config.find("rope_parameters"))) {
      return config.error("rope_parameters",
                          "per layer type (full_attention/sliding_attention) is not supported "
                          "(supported: one rope_parameters object for all layers)");
    }
    PD_ASSIGN_OR_RETURN(out.theta, parameters->number_or("rope_theta", top_theta));
    if (out.theta <= 0) return parameters->error("rope_theta", "must be positive");
    PD_ASSIGN_OR_RETURN(RopeScalingType type, scaling_type(*parameters, /*type_optional=*/true));
    PD_ASSIGN_OR_RETURN(out.scaling, parse_scaling(*parameters, type, max_position_embeddings));
    return out;
  }
  out.theta = top_theta;
  if (out.theta <= 0) return config.error("rope_theta", "must be positive");
  PD_ASSIGN_OR_RETURN(std::optional<json_reader::FieldReader> scaling,
                      config.optional_object("rope_scaling"));
  if (!scaling) return out;  // absent or null: plain RoPE
  PD_ASSIGN_OR_RETURN(RopeScalingType type, scaling_type(*scaling, /*type_optional=*/false));
  PD_ASSIGN_OR_RETURN(out.scaling, parse_scaling(*scaling, type, max_position_embeddings));
  return out;
}

}  // namespace pdserve::model
