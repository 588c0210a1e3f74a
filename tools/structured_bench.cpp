// Constrained-decoding speed: compile time of real-world constraints and the
// time to fill one step's token mask, at a tokenizer's vocabulary or at a
// synthesized larger one:
//   structured_bench TOKENIZER_JSON [VOCAB_SIZE] [STEPS]
// VOCAB_SIZE above the tokenizer's grows the vocabulary BPE-style: new tokens
// join two existing ones (at most 16 bytes, seeded, so runs are identical).
// For each constraint: compile (grammar + bound to the vocabulary), the first
// walk (masks computed lazily, per grammar position), and a second walk over
// the same output (masks cached); "contexts": stack suffixes classified. A walk takes the longest
// allowed token at each step (a stop token once allowed), STEPS steps at most.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "structured/grammar_compiler.h"
#include "structured/grammar_matcher.h"
#include "tokenizer/token_bytes.h"
#include "tokenizer/tokenizer.h"

namespace {

using pdserve::structured::CompiledGrammar;
using pdserve::structured::Constraint;
using pdserve::structured::GrammarMatcher;
using pdserve::structured::TokenBitmask;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

void grow(std::vector<std::string>* tokens, size_t size) {
  std::set<std::string> seen(tokens->begin(), tokens->end());
  std::vector<size_t> usable;
  for (size_t i = 0; i < tokens->size(); ++i) {
    if (!(*tokens)[i].empty()) usable.push_back(i);
  }
  std::mt19937_64 rng(1);
  while (tokens->size() < size) {
    const std::string& a = (*tokens)[usable[rng() % usable.size()]];
    const std::string& b = (*tokens)[usable[rng() % usable.size()]];
    std::string joined = a + b;
    if (joined.size() > 16 || !seen.insert(joined).second) continue;
    usable.push_back(tokens->size());
    tokens->push_back(std::move(joined));
  }
}

struct Walk {
  std::vector<int32_t> tokens;
  double mean_ms = 0;
  double max_ms = 0;
};

// Takes `replay` when given, else the longest allowed token each step.
Walk walk(const std::shared_ptr<const CompiledGrammar>& g, int steps,
          const std::vector<int32_t>* replay) {
  const auto& vocab = g->vocabulary();
  GrammarMatcher m(g);
  TokenBitmask mask;
  Walk w;
  double total = 0;
  for (int s = 0; s < steps && !m.is_terminated(); ++s) {
    if (replay && static_cast<size_t>(s) >= replay->size()) break;
    Clock::time_point t = Clock::now();
    m.fill_next_token_mask(&mask);
    double ms = ms_since(t);
    total += ms;
    w.max_ms = std::max(w.max_ms, ms);
    int32_t pick = -1;
    if (replay) {
      pick = (*replay)[static_cast<size_t>(s)];
    } else {
      for (int32_t id = 0; id < vocab.size(); ++id) {
        if (!mask.test(id)) continue;
        if (vocab.is_stop(id)) {
          pick = id;
          break;
        }
        if (pick < 0 || vocab.bytes(id).size() > vocab.bytes(pick).size()) pick = id;
      }
    }
    if (pick < 0 || !m.accept_token(pick).ok()) break;
    w.tokens.push_back(pick);
  }
  w.mean_ms = w.tokens.empty() ? 0 : total / static_cast<double>(w.tokens.size());
  return w;
}

std::vector<std::pair<std::string, Constraint>> constraints() {
  using K = Constraint::Kind;
  return {
      {"tool: get_weather",
       {K::kJsonSchema,
        R"({"type":"object","properties":{"location":{"type":"string","description":"City"},
            "unit":{"type":"string","enum":["celsius","fahrenheit"]}},
            "required":["location","unit"],"additionalProperties":false})",
        {}}},
      {"tool: search (strict, nullable)",
       {K::kJsonSchema,
        R"({"type":"object","properties":{"query":{"type":"string"},
            "max_results":{"anyOf":[{"type":"integer","minimum":1,"maximum":50},{"type":"null"}]},
            "site":{"type":["string","null"]},"safe":{"type":"boolean"}},
            "required":["query","max_results","site","safe"],"additionalProperties":false})",
        {}}},
      {"nested: person",
       {K::kJsonSchema,
        R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":64},
            "age":{"type":"integer","minimum":0,"maximum":150},
            "email":{"type":"string","format":"email"},
            "address":{"type":"object","properties":{"street":{"type":"string"},
              "city":{"type":"string"},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},
              "required":["street","city"]},
            "tags":{"type":"array","items":{"type":"string"},"maxItems":8},
            "created":{"type":"string","format":"date-time"}},
            "required":["name","age","address"]})",
        {}}},
      {"enums: order",
       {K::kJsonSchema,
        R"({"type":"object","properties":{
            "status":{"enum":["pending","paid","shipped","delivered","cancelled","refunded"]},
            "priority":{"enum":["low","normal","high","urgent"]},
            "items":{"type":"array","minItems":1,"items":{"type":"object","properties":{
              "sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]{4}$"},
              "qty":{"type":"integer","minimum":1,"maximum":999},
              "price":{"type":"number","minimum":0}},"required":["sku","qty","price"]}}},
            "required":["status","priority","items"]})",
        {}}},
      {"recursive: tree ($ref)",
       {K::kJsonSchema,
        R"({"$defs":{"node":{"type":"object","properties":{"label":{"type":"string"},
            "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
            "required":["label","children"]}},"$ref":"#/$defs/node"})",
        {}}},
      {"json_object", {K::kJsonObject, "", {}}},
      {"regex: phone", {K::kRegex, R"(\(\d{3}\) \d{3}-\d{4})", {}}},
      {"choice: 3 labels", {K::kChoice, "", {"positive", "negative", "neutral"}}},
      {"grammar: arithmetic",
       {K::kGrammar,
        "root ::= expr\nexpr ::= term ((\"+\" | \"-\") term)*\nterm ::= factor ((\"*\" | \"/\") "
        "factor)*\nfactor ::= [0-9]+ | \"(\" expr \")\"",
        {}}},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON [VOCAB_SIZE] [STEPS]\n", argv[0]);
    return 2;
  }
  auto tokenizer = pdserve::tokenizer::Tokenizer::from_file(argv[1]);
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "%s\n", tokenizer.status().to_string().c_str());
    return 1;
  }
  auto bytes = pdserve::tokenizer::token_bytes(**tokenizer);
  if (!bytes.ok()) {
    std::fprintf(stderr, "%s\n", bytes.status().to_string().c_str());
    return 1;
  }
  std::vector<std::string> tokens = std::move(bytes).value();
  std::vector<int32_t> stops;
  for (int32_t id = 0; id < (*tokenizer)->vocab_size(); ++id) {
    if ((*tokenizer)->is_special(id)) stops.push_back(id);
  }
  if (argc > 2) grow(&tokens, static_cast<size_t>(std::max(0L, std::atol(argv[2]))));
  const int steps = argc > 3 ? std::max(1, std::atoi(argv[3])) : 64;
  auto vocab = pdserve::structured::Vocabulary::create(tokens, stops);
  if (!vocab.ok()) {
    std::fprintf(stderr, "%s\n", vocab.status().to_string().c_str());
    return 1;
  }
  std::printf("vocabulary: %d tokens; walks of at most %d steps\n\n", (*vocab)->size(), steps);
  std::printf(
      "| constraint | compile ms | contexts | first walk: mask ms mean / max | "
      "cached: mask ms mean / max | tokens |\n|---|---|---|---|---|---|\n");
  for (const auto& [name, c] : constraints()) {
    pdserve::structured::GrammarCompiler compiler(*vocab);
    Clock::time_point t = Clock::now();
    auto g = compiler.compile(c);
    double compile_ms = ms_since(t);
    if (!g.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), g.status().to_string().c_str());
      return 1;
    }
    Walk first = walk(*g, steps, nullptr);
    Walk cached = walk(*g, steps, &first.tokens);
    std::printf("| %s | %.2f | %d | %.3f / %.1f | %.3f / %.3f | %zu |\n", name.c_str(), compile_ms,
                (*g)->num_cached_contexts(), first.mean_ms, first.max_ms, cached.mean_ms,
                cached.max_ms, first.tokens.size());
  }
  return 0;
}
