// The ShareGPT workload, read as vLLM's ShareGPTDataset does.
#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "bench/workload.h"

namespace pdserve::bench {
namespace {

using nlohmann::json;

struct Pair {
  std::string prompt;
  std::string reply;
};

// The first human turn and the gpt turn after it; nullopt-like empty flag when absent.
Result<std::optional<Pair>> first_pair(const json& entry, const std::string& where) {
  if (!entry.is_object()) return invalid_argument(where + " is not an object");
  auto it = entry.find("conversations");
  if (it == entry.end() || !it->is_array())
    return invalid_argument(where + " has no \"conversations\" list");
  std::optional<std::string> prompt;
  size_t turn = 0;
  for (const json& t : *it) {
    const std::string at = where + ", turn " + std::to_string(turn++);
    if (!t.is_object()) return invalid_argument(at + " is not an object");
    auto from = t.find("from");
    auto value = t.find("value");
    if (from == t.end() || !from->is_string())
      return invalid_argument(at + " has no string \"from\"");
    if (value == t.end() || !value->is_string())
      return invalid_argument(at + " has no string \"value\"");
    const std::string& role = from->get_ref<const std::string&>();
    if (!prompt && role == "human") {
      prompt = value->get<std::string>();
    } else if (prompt && role == "gpt") {
      return std::optional<Pair>(Pair{*prompt, value->get<std::string>()});
    }
  }
  return std::optional<Pair>();
}

}  // namespace

Result<std::vector<BenchRequest>> sharegpt_workload_from_json(const tokenizer::Tokenizer& tok,
                                                              std::string_view text,
                                                              const std::string& name,
                                                              const ShareGptOptions& o) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    return invalid_argument(name + ": not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
  if (!root.is_array()) return invalid_argument(name + ": expected a list of conversations");
  std::vector<size_t> order(root.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::mt19937_64 rng(o.seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<BenchRequest> out;
  for (size_t idx : order) {
    if (out.size() >= static_cast<size_t>(o.num_prompts)) break;
    PD_ASSIGN_OR_RETURN(std::optional<Pair> pair,
                        first_pair(root[idx], name + ": entry " + std::to_string(idx)));
    if (!pair) continue;
    auto prompt_ids = tok.encode(pair->prompt);
    auto reply_ids = tok.encode(pair->reply);
    if (!prompt_ids.ok() || !reply_ids.ok()) continue;  // not valid UTF-8: skipped
    const int prompt_len = static_cast<int>(prompt_ids->size());
    const int output_len = o.output_len ? *o.output_len : static_cast<int>(reply_ids->size());
    if (prompt_len < kShareGptMinLen || prompt_len > kShareGptMaxPromptLen) continue;
    if (!o.output_len && output_len < kShareGptMinLen) continue;
    if (prompt_len + output_len > kShareGptMaxTotalLen) continue;
    BenchRequest r;
    r.prompt_text = std::move(pair->prompt);
    r.input_len = prompt_len;
    r.output_len = output_len;
    out.push_back(std::move(r));
  }
  if (out.empty())
    return invalid_argument(name +
                            ": no conversation with a human turn and a gpt reply within "
                            "the length limits");
  // Fewer usable conversations than prompts asked: reuse them in order (vLLM oversamples).
  for (size_t i = 0; out.size() < static_cast<size_t>(o.num_prompts); ++i) out.push_back(out[i]);
  return out;
}

Result<std::vector<BenchRequest>> sharegpt_workload(const tokenizer::Tokenizer& tok,
                                                    const std::string& path,
                                                    const ShareGptOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid_argument("--dataset-path " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return sharegpt_workload_from_json(tok, text.str(), path, o);
}

}  // namespace pdserve::bench
