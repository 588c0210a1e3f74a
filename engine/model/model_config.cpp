#include "engine/model/model_config.h"

#include <climits>
#include <string_view>
#include <utility>

#include "common/base/text_file.h"
#include "common/json/json_reader.h"
#include "engine/model/rope_config.h"

namespace pdserve::model {
namespace {

constexpr size_t kMaxConfigBytes = 16u << 20;
constexpr const char* kSupportedArchitectures =
    "LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM";
// transformers' defaults when a config omits the field.
constexpr int kMistralDefaultSlidingWindow = 4096;
constexpr int kQwenDefaultSlidingWindow = 4096;
constexpr int kQwenDefaultMaxWindowLayers = 28;

std::string in_folder(const std::string& source, const char* file) {
  return source.empty() ? std::string(file) : (std::filesystem::path(source) / file).string();
}

Status parse_architecture(const json_reader::FieldReader& f, ModelConfig& c) {
  const nlohmann::json* list = f.find("architectures");
  if (list == nullptr || !list->is_array() || list->empty() || !(*list)[0].is_string()) {
    return f.error("architectures",
                   std::string("must be a list naming the model class (supported: ") +
                       kSupportedArchitectures + ")");
  }
  c.architecture_name = (*list)[0].get<std::string>();
  static constexpr std::pair<std::string_view, Architecture> kKnown[] = {
      {"LlamaForCausalLM", Architecture::kLlama},
      {"MistralForCausalLM", Architecture::kMistral},
      {"Qwen2ForCausalLM", Architecture::kQwen2},
      {"Qwen3ForCausalLM", Architecture::kQwen3},
  };
  for (const auto& [name, arch] : kKnown) {
    if (c.architecture_name == name) {
      c.architecture = arch;
      return ok_status();
    }
  }
  return invalid_argument(f.source() + ": architecture " + json_reader::quote(c.architecture_name) +
                          " is not supported (supported: " + kSupportedArchitectures + ")");
}

// "(N)", built by append: GCC 12 misreads "(" + to_string() (-Wrestrict).
std::string in_parens(int64_t v) {
  std::string text = "(";
  text.append(std::to_string(v)).append(")");
  return text;
}

Status parse_shape(const json_reader::FieldReader& f, ModelConfig& c) {
  PD_ASSIGN_OR_RETURN(int64_t vocab, f.required_int("vocab_size", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(int64_t hidden, f.required_int("hidden_size", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(int64_t inter, f.required_int("intermediate_size", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(int64_t layers, f.required_int("num_hidden_layers", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(int64_t heads, f.required_int("num_attention_heads", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> kv_heads,
                      f.optional_int("num_key_value_heads", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> head_dim, f.optional_int("head_dim", 1, INT_MAX));
  PD_ASSIGN_OR_RETURN(int64_t max_pos, f.required_int("max_position_embeddings", 1, INT_MAX));
  if (!kv_heads) kv_heads = heads;
  if (heads % *kv_heads != 0) {
    return f.error(
        "num_attention_heads",
        in_parens(heads) + " is not divisible by num_key_value_heads " + in_parens(*kv_heads));
  }
  if (!head_dim) {
    if (hidden % heads != 0) {
      return f.error("hidden_size", in_parens(hidden) +
                                        " is not divisible by num_attention_heads " +
                                        in_parens(heads) + " and head_dim is not given");
    }
    head_dim = hidden / heads;
  }
  if (*head_dim % 2 != 0) {
    return f.error("head_dim",
                   "must be even for rotary embeddings, got " + std::to_string(*head_dim));
  }
  if (heads * *head_dim > INT_MAX) {
    return f.error("head_dim", "times num_attention_heads overflows a 32-bit int");
  }
  c.vocab_size = static_cast<int>(vocab);
  c.hidden_size = static_cast<int>(hidden);
  c.intermediate_size = static_cast<int>(inter);
  c.num_layers = static_cast<int>(layers);
  c.num_heads = static_cast<int>(heads);
  c.num_kv_heads = static_cast<int>(*kv_heads);
  c.head_dim = static_cast<int>(*head_dim);
  c.max_position_embeddings = static_cast<int>(max_pos);
  PD_ASSIGN_OR_RETURN(c.rms_norm_eps, f.number_or("rms_norm_eps", 1e-6));
  if (c.rms_norm_eps <= 0) return f.error("rms_norm_eps", "must be positive");
  return ok_status();
}

// Qwen2/Qwen3: with use_sliding_window, layers from max_window_layers on use
// the window (transformers 5 may list layer_types instead). Only all or none
// can be represented by ModelConfig::sliding_window.
Status parse_qwen_sliding_window(const json_reader::FieldReader& f, ModelConfig& c) {
  PD_ASSIGN_OR_RETURN(bool enabled, f.bool_or("use_sliding_window", false));
  if (!enabled) return ok_status();
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> window, f.optional_int("sliding_window", 1, INT_MAX));
  int num_sliding = 0;
  if (const nlohmann::json* types = f.find("layer_types")) {
    if (!types->is_array() || types->size() != static_cast<size_t>(c.num_layers)) {
      return f.error("layer_types",
                     "must list one entry per layer (" + std::to_string(c.num_layers) + ")");
    }
    for (const auto& t : *types) {
      if (t == "sliding_attention") {
        ++num_sliding;
      } else if (t != "full_attention") {
        return f.error("layer_types", "entry " + json_reader::excerpt(t) +
                                          " is not supported (supported: full_attention, "
                                          "sliding_attention)");
      }
    }
  } else {
    PD_ASSIGN_OR_RETURN(std::optional<int64_t> first,
                        f.optional_int("max_window_layers", 0, INT_MAX));
    num_sliding = c.num_layers - static_cast<int>(std::min<int64_t>(
                                     first.value_or(kQwenDefaultMaxWindowLayers), c.num_layers));
  }
  if (num_sliding == 0) return ok_status();
  if (num_sliding != c.num_layers) {
    return f.error("use_sliding_window",
                   "with a sliding window on " + std::to_string(num_sliding) + " of " +
                       std::to_string(c.num_layers) +
                       " layers is not supported (supported: on all layers or on none)");
  }
  c.sliding_window = static_cast<int>(window.value_or(kQwenDefaultSlidingWindow));
  return ok_status();
}

Status parse_attention_options(const json_reader::FieldReader& f, ModelConfig& c) {
  switch (c.architecture) {
    case Architecture::kLlama: {
      PD_ASSIGN_OR_RETURN(bool attention_bias, f.bool_or("attention_bias", false));
      PD_ASSIGN_OR_RETURN(c.mlp_bias, f.bool_or("mlp_bias", false));
      c.qkv_bias = c.o_bias = attention_bias;
      return ok_status();
    }
    case Architecture::kMistral: {
      // Absent means transformers' default of 4096; null means full attention.
      if (!f.contains("sliding_window")) {
        c.sliding_window = kMistralDefaultSlidingWindow;
        return ok_status();
      }
      PD_ASSIGN_OR_RETURN(std::optional<int64_t> window,
                          f.optional_int("sliding_window", 1, INT_MAX));
      c.sliding_window = static_cast<int>(window.value_or(0));
      return ok_status();
    }
    case Architecture::kQwen2:
      c.qkv_bias = true;  // Qwen2 always has q/k/v bias and no o_proj bias
      return parse_qwen_sliding_window(f, c);
    case Architecture::kQwen3: {
      PD_ASSIGN_OR_RETURN(bool attention_bias, f.bool_or("attention_bias", false));
      c.qkv_bias = c.o_bias = attention_bias;
      c.qk_norm = true;
      return parse_qwen_sliding_window(f, c);
    }
  }
  return ok_status();
}

Status parse_hidden_act(const json_reader::FieldReader& f) {
  PD_ASSIGN_OR_RETURN(std::optional<std::string> act, f.optional_string("hidden_act"));
  if (act && *act != "silu") {
    return invalid_argument(f.source() + ": hidden_act " + json_reader::quote(*act) +
                            " is not supported (supported: silu)");
  }
  return ok_status();
}

// transformers 5 writes "dtype", 4.x "torch_dtype".
Status parse_dtype(const json_reader::FieldReader& f, ModelConfig& c) {
  const char* key = f.has("dtype") ? "dtype" : "torch_dtype";
  PD_ASSIGN_OR_RETURN(std::optional<std::string> name, f.optional_string(key));
  if (!name) return ok_status();
  if (*name == "bfloat16") {
    c.torch_dtype = backend::DType::kBF16;
  } else if (*name == "float16") {
    c.torch_dtype = backend::DType::kF16;
  } else if (*name == "float32") {
    c.torch_dtype = backend::DType::kF32;
  } else {
    return f.error(key, json_reader::quote(*name) +
                            " is not supported (supported: bfloat16, float16, float32)");
  }
  return ok_status();
}

// A token id or a list of them (eos_token_id may be either). Appends to `ids`;
// false when the field is absent or null.
Result<bool> read_token_ids(const json_reader::FieldReader& f, std::string_view key, int vocab_size,
                            std::vector<int>& ids) {
  const nlohmann::json* v = f.find(key);
  if (v == nullptr) return false;
  const bool is_list = v->is_array();
  const size_t n = is_list ? v->size() : 1;
  ids.clear();
  for (size_t i = 0; i < n; ++i) {
    const nlohmann::json& item = is_list ? (*v)[i] : *v;
    std::optional<int64_t> id = json_reader::as_int(item);
    if (!id || *id < 0 || *id >= vocab_size) {
      return f.error(key, "must hold token ids in [0, " + std::to_string(vocab_size) + "), got " +
                              json_reader::excerpt(item));
    }
    ids.push_back(static_cast<int>(*id));
  }
  return true;
}

Status parse_special_tokens(const json_reader::FieldReader& config,
                            const json_reader::FieldReader* generation, ModelConfig& c) {
  // generation_config.json wins where it names the token.
  const json_reader::FieldReader* bos_source = &config;
  if (generation != nullptr && generation->has("bos_token_id")) bos_source = generation;
  const json_reader::FieldReader* eos_source = &config;
  if (generation != nullptr && generation->has("eos_token_id")) eos_source = generation;

  std::vector<int> bos;
  PD_ASSIGN_OR_RETURN(bool has_bos, read_token_ids(*bos_source, "bos_token_id", c.vocab_size, bos));
  if (has_bos && bos.size() != 1) {
    return bos_source->error("bos_token_id", "must be a single token id");
  }
  if (has_bos) c.bos_token_id = bos.front();
  return read_token_ids(*eos_source, "eos_token_id", c.vocab_size, c.eos_token_ids).status();
}

Result<nlohmann::json> parse_object(const std::string& text, const std::string& file) {
  PD_ASSIGN_OR_RETURN(nlohmann::json json, json_reader::parse_file_text(text, file));
  if (!json.is_object()) return invalid_argument(file + ": must be a JSON object");
  return json;
}

}  // namespace

Result<ModelConfig> parse_model_config(const std::string& config_json,
                                       const std::optional<std::string>& generation_config_json,
                                       const std::string& source) {
  const std::string config_file = in_folder(source, "config.json");
  PD_ASSIGN_OR_RETURN(nlohmann::json json, parse_object(config_json, config_file));
  json_reader::FieldReader f(json, json_reader::Naming::file(config_file));
  ModelConfig c;
  PD_RETURN_IF_ERROR(parse_architecture(f, c));
  PD_RETURN_IF_ERROR(parse_hidden_act(f));
  PD_RETURN_IF_ERROR(parse_shape(f, c));
  PD_ASSIGN_OR_RETURN(RopeSettings rope, parse_rope_settings(f, c.max_position_embeddings));
  c.rope_theta = rope.theta;
  c.rope_scaling = rope.scaling;
  PD_RETURN_IF_ERROR(parse_attention_options(f, c));
  PD_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.bool_or("tie_word_embeddings", false));
  PD_RETURN_IF_ERROR(parse_dtype(f, c));

  std::optional<nlohmann::json> generation_json;
  std::optional<json_reader::FieldReader> generation;
  if (generation_config_json) {
    const std::string generation_file = in_folder(source, "generation_config.json");
    PD_ASSIGN_OR_RETURN(generation_json, parse_object(*generation_config_json, generation_file));
    generation.emplace(*generation_json, json_reader::Naming::file(generation_file));
  }
  PD_RETURN_IF_ERROR(parse_special_tokens(f, generation ? &*generation : nullptr, c));
  return c;
}

Result<ModelConfig> load_model_config(const std::filesystem::path& dir) {
  const std::string source = dir.string();
  Result<std::string> config_text =
      read_text_file(dir / "config.json", kMaxConfigBytes, in_folder(source, "config.json"));
  if (config_text.status().code() == StatusCode::kNotFound) {
    return not_found(config_text.status().message() +
                     " (supported: a Hugging Face model folder with config.json and "
                     "model.safetensors or model.safetensors.index.json)");
  }
  if (!config_text.ok()) return config_text.status();
  std::optional<std::string> generation_text;
  Result<std::string> generation = read_text_file(dir / "generation_config.json", kMaxConfigBytes,
                                                  in_folder(source, "generation_config.json"));
  if (generation.ok()) {
    generation_text = std::move(generation).value();
  } else if (generation.status().code() != StatusCode::kNotFound) {
    return generation.status();
  }
  return parse_model_config(*config_text, generation_text, source);
}

}  // namespace pdserve::model
