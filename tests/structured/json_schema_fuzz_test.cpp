// Randomized: random schemas, random token-by-token outputs under the mask.
// Every step's mask equals the brute-force mask (each allowed token keeps the
// output a viable prefix, no viable token is left out, the mask is never
// empty), and every finished output parses as JSON and validates against its
// schema (a small validator for the generated subset).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>

#include "structured/grammar_compiler.h"
#include "structured/grammar_matcher.h"
#include "structured/utf8_ranges.h"
#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

using Json = nlohmann::ordered_json;

class SchemaGen {
 public:
  explicit SchemaGen(uint32_t seed) : rng_(seed) {}

  Json root() {
    Json defs = Json::object();
    defs["item"] = gen(2);
    Json s = gen(0);
    if (pick(3) == 0) s = Json{{"type", "array"}, {"items", {{"$ref", "#/$defs/item"}}}};
    s["$defs"] = defs;
    return s;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::optional<int64_t> maybe_bound() {
    return pick(2) ? std::optional<int64_t>(pick(101) - 50) : std::nullopt;
  }

  Json gen(int depth) {
    int kind = pick(depth >= 3 ? 6 : 9);
    switch (kind) {
      case 0:
      case 1: {
        Json s{{"type", kind == 0 ? "integer" : "number"}};
        auto lo = maybe_bound();
        auto hi = maybe_bound();
        if (lo && hi && *lo > *hi) std::swap(lo, hi);
        if (lo) s[pick(2) ? "minimum" : "exclusiveMinimum"] = *lo;
        if (hi) s[pick(2) ? "maximum" : "exclusiveMaximum"] = *hi;
        if (lo && hi && *lo == *hi)
          s = Json{{"type", s["type"]}, {"minimum", *lo}, {"maximum", *hi}};
        return s;
      }
      case 2: {
        Json s{{"type", "string"}};
        int variant = pick(4);
        if (variant == 1) {
          s["minLength"] = pick(3);
          s["maxLength"] = s["minLength"].get<int>() + pick(4);
        } else if (variant == 2) {
          static const char* kPatterns[] = {"^[a-z]{1,5}$", "^\\d{3}-\\d{2}$", "ab", "^(x|yz)+q?$"};
          s["pattern"] = kPatterns[pick(4)];
        } else if (variant == 3) {
          s = Json{{"enum", {"red", "green", "\"quoted\"", "caf\xC3\xA9"}}};
        }
        return s;
      }
      case 3: return Json{{"type", "boolean"}};
      case 4: return Json{{"type", "null"}};
      case 5: return Json{{"enum", {1, "one", nullptr, Json{{"k", true}}}}};
      case 6: {
        static const char* kNames[] = {"id", "name", "tags", "meta", "score"};
        Json s{{"type", "object"}, {"properties", Json::object()}};
        Json required = Json::array();
        int n = pick(5);
        for (int i = 0; i < n; ++i) {
          s["properties"][kNames[i]] = gen(depth + 1);
          if (pick(2)) required.push_back(kNames[i]);
        }
        if (n == 0 && pick(2)) s["additionalProperties"] = Json{{"type", "integer"}};
        s["required"] = required;
        return s;
      }
      case 7: {
        Json s{{"type", "array"}, {"items", gen(depth + 1)}};
        if (pick(2)) s["minItems"] = pick(3);
        if (pick(2)) s["maxItems"] = s.value("minItems", 0) + pick(3);
        return s;
      }
      default: return Json{{"anyOf", {Json{{"type", "integer"}}, gen(depth + 1)}}};
    }
  }

  std::mt19937 rng_;
};

size_t num_codepoints(const std::string& s) {
  size_t idx = 0;
  size_t n = 0;
  uint32_t cp = 0;
  while (decode_utf8(s, &idx, &cp)) ++n;
  return n;
}

bool validate(const Json& v, const Json& s, const Json& root) {
  if (s.contains("$ref")) {
    std::string ref = s["$ref"].get<std::string>();
    return validate(v, root["$defs"][ref.substr(std::string("#/$defs/").size())], root);
  }
  if (s.contains("enum")) {
    for (const Json& e : s["enum"]) {
      if (e == v) return true;
    }
    return false;
  }
  if (s.contains("anyOf")) {
    for (const Json& sub : s["anyOf"]) {
      if (validate(v, sub, root)) return true;
    }
    return false;
  }
  std::string type = s.value("type", "");
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "integer" || type == "number") {
    if (type == "integer" ? !v.is_number_integer() : !v.is_number()) return false;
    double x = v.get<double>();
    if (s.contains("minimum") && x < s["minimum"].get<double>()) return false;
    if (s.contains("maximum") && x > s["maximum"].get<double>()) return false;
    if (s.contains("exclusiveMinimum") && x <= s["exclusiveMinimum"].get<double>()) return false;
    if (s.contains("exclusiveMaximum") && x >= s["exclusiveMaximum"].get<double>()) return false;
    return true;
  }
  if (type == "string") {
    if (!v.is_string()) return false;
    std::string text = v.get<std::string>();
    size_t n = num_codepoints(text);
    if (s.contains("minLength") && n < s["minLength"].get<size_t>()) return false;
    if (s.contains("maxLength") && n > s["maxLength"].get<size_t>()) return false;
    if (s.contains("pattern") &&
        !std::regex_search(text, std::regex(s["pattern"].get<std::string>()))) {
      return false;
    }
    return true;
  }
  if (type == "array") {
    if (!v.is_array()) return false;
    if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>()) return false;
    if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>()) return false;
    for (const Json& item : v) {
      if (!validate(item, s["items"], root)) return false;
    }
    return true;
  }
  if (type == "object") {
    if (!v.is_object()) return false;
    for (const Json& name : s["required"]) {
      if (!v.contains(name.get<std::string>())) return false;
    }
    for (const auto& [key, value] : v.items()) {
      if (s["properties"].contains(key)) {
        if (!validate(value, s["properties"][key], root)) return false;
      } else if (!s.contains("additionalProperties") ||
                 !validate(value, s["additionalProperties"], root)) {
        return false;
      }
    }
    return true;
  }
  return false;
}

bool is_closer(std::string_view bytes) {
  return bytes == "\"" || bytes == "]" || bytes == "}" || bytes == "\"}" || bytes == "]}";
}

TEST(JsonSchemaFuzz, MasksAreExactAndOutputsValidate) {
  std::shared_ptr<const Vocabulary> vocab = test_vocabulary();
  GrammarCompiler compiler(vocab);
  std::mt19937 rng(1234);
  int finished = 0;
  constexpr int kSchemas = 120;
  for (int i = 0; i < kSchemas; ++i) {
    Json schema = SchemaGen(static_cast<uint32_t>(i)).root();
    Result<std::shared_ptr<const CompiledGrammar>> compiled =
        compiler.compile({Constraint::Kind::kJsonSchema, schema.dump(), {}});
    ASSERT_TRUE(compiled.ok()) << schema.dump() << ": " << compiled.status().to_string();
    GrammarMatcher m(*compiled);
    StackSet stacks = initial_stacks((*compiled)->grammar());
    std::string text;
    TokenBitmask mask;
    for (int step = 0; step < 400 && !m.is_terminated(); ++step) {
      m.fill_next_token_mask(&mask);
      std::vector<bool> slow = brute_force_mask((*compiled)->grammar(), *vocab, stacks);
      std::vector<int32_t> allowed;
      std::vector<int32_t> closers;
      for (int32_t id = 0; id < vocab->size(); ++id) {
        ASSERT_EQ(mask.test(id), slow[static_cast<size_t>(id)])
            << schema.dump() << " after '" << text << "' token " << id;
        if (!mask.test(id)) continue;
        allowed.push_back(id);
        if (vocab->is_stop(id) || is_closer(vocab->bytes(id))) closers.push_back(id);
      }
      ASSERT_FALSE(allowed.empty()) << schema.dump() << " dead end after '" << text << "'";
      const std::vector<int32_t>& pool = !closers.empty() && rng() % 3 != 0 ? closers : allowed;
      int32_t token = pool[rng() % pool.size()];
      ASSERT_TRUE(m.accept_token(token).ok());
      if (vocab->is_stop(token)) break;
      text += vocab->bytes(token);
      StackSet next;
      ASSERT_TRUE(advance_bytes((*compiled)->grammar(), stacks, vocab->bytes(token), &next));
      stacks = std::move(next);
    }
    if (!m.is_terminated()) continue;
    ++finished;
    Json value = Json::parse(text, nullptr, false);
    ASSERT_FALSE(value.is_discarded()) << schema.dump() << " produced invalid JSON: " << text;
    EXPECT_TRUE(validate(value, schema, schema)) << schema.dump() << " produced " << text;
  }
  EXPECT_GT(finished, kSchemas / 2);
}

}  // namespace
}  // namespace pdserve::structured
