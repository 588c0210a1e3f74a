// The normalizer, pre-tokenizer, post-processor and decoder sections of
// tokenizer.json. Every field is type-checked; anything unknown or malformed
// is a one-line kInvalidArgument "tokenizer.json: ..." (nlohmann's exceptions
// never leave this file).
#include "tokenizer/component_loader.h"

#include <functional>
#include "tokenizer/decoders.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pipeline.h"
#include "tokenizer/post_processors.h"
#include "tokenizer/pre_tokenizers.h"

namespace pdserve::tokenizer {
namespace {

// Sequences may nest; deeper than this is refused rather than recursed into.
constexpr int kMaxDepth = 32;

Status bad(const std::string& what) {
  return invalid_argument("tokenizer.json: " + what);
}

Result<const Json*> field(const Json& obj, const char* name, const std::string& where) {
  const json_reader::FieldReader f = fields(obj, where);
  if (const Json* v = f.find(name)) return v;
  return f.error(name, "is missing");
}

Result<std::string> get_string(const Json& obj, const char* name, const std::string& where) {
  return fields(obj, where).required_string(name);
}

// Optional bool/int with a default when absent or null.
Result<bool> get_bool(const Json& obj, const char* name, bool dflt, const std::string& where) {
  return fields(obj, where).bool_or(name, dflt);
}

Result<int64_t> get_int(const Json& obj, const char* name, int64_t dflt, int64_t max,
                        const std::string& where) {
  PD_ASSIGN_OR_RETURN(std::optional<int64_t> v, fields(obj, where).optional_int(name, 0, max));
  return v.value_or(dflt);
}

Result<std::string> type_of(const Json& j, const std::string& where) {
  if (!j.is_object()) return bad(where + " must be an object");
  return get_string(j, "type", where);
}

Status unsupported(const std::string& kind, const std::string& type, const char* supported) {
  return bad("unsupported " + kind + " type '" + type + "' (supported: " + supported + ")");
}

// {"String": s} or {"Regex": r}: the literal, or the compiled regex.
Status load_pattern(const Json& j, const std::string& where, std::string* literal,
                    std::unique_ptr<Regex>* regex) {
  PD_ASSIGN_OR_RETURN(const Json* p, field(j, "pattern", where));
  if (p->is_object() && p->size() == 1 && p->contains("String") && (*p)["String"].is_string()) {
    *literal = (*p)["String"].get<std::string>();
    return ok_status();
  }
  if (p->is_object() && p->size() == 1 && p->contains("Regex") && (*p)["Regex"].is_string()) {
    auto r = Regex::compile((*p)["Regex"].get<std::string>());
    if (!r.ok()) return bad(where + ": " + r.status().message());
    *regex = std::move(r).value();
    return ok_status();
  }
  return bad(where + ".pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

Result<std::unique_ptr<Normalizer>> load_normalizer(const Json& j, int depth = 0) {
  const std::string where = "normalizer";
  if (depth > kMaxDepth)
    return bad("normalizer Sequences nest deeper than " + std::to_string(kMaxDepth));
  PD_ASSIGN_OR_RETURN(const std::string type, type_of(j, where));
  if (type == "Sequence") {
    PD_ASSIGN_OR_RETURN(const Json* list, field(j, "normalizers", where));
    if (!list->is_array()) return bad("normalizer.normalizers must be an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (const Json& s : *list) {
      PD_ASSIGN_OR_RETURN(auto step, load_normalizer(s, depth + 1));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<Normalizer>(new NormalizerSequence(std::move(steps)));
  }
  if (type == "Prepend") {
    PD_ASSIGN_OR_RETURN(std::string prefix, get_string(j, "prepend", where));
    return std::unique_ptr<Normalizer>(new PrependNormalizer(std::move(prefix)));
  }
  if (type == "Replace") {
    std::string literal;
    std::unique_ptr<Regex> regex;
    PD_RETURN_IF_ERROR(load_pattern(j, "normalizer Replace", &literal, &regex));
    PD_ASSIGN_OR_RETURN(std::string content, get_string(j, "content", where));
    return std::unique_ptr<Normalizer>(
        new ReplaceNormalizer(std::move(literal), std::move(regex), std::move(content)));
  }
  if (type == "Strip") {
    PD_ASSIGN_OR_RETURN(const bool left, get_bool(j, "strip_left", true, where));
    PD_ASSIGN_OR_RETURN(const bool right, get_bool(j, "strip_right", true, where));
    return std::unique_ptr<Normalizer>(new StripNormalizer(left, right));
  }
  if (type == "NFC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(UnicodeForm::kNFC));
  if (type == "NFD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(UnicodeForm::kNFD));
  if (type == "NFKC") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(UnicodeForm::kNFKC));
  if (type == "NFKD") return std::unique_ptr<Normalizer>(new UnicodeNormalizer(UnicodeForm::kNFKD));
  return unsupported("normalizer", type, "Sequence, Prepend, Replace, Strip, NFC, NFD, NFKC, NFKD");
}

Result<SplitBehavior> load_behavior(const Json& j) {
  PD_ASSIGN_OR_RETURN(const std::string b, get_string(j, "behavior", "pre_tokenizer Split"));
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return bad("unsupported Split behavior '" + b + "'");
}

// Metaspace's replacement and prepend scheme (new and old spellings).
Status load_metaspace(const Json& j, const std::string& where, std::string* replacement,
                      PrependScheme* scheme) {
  PD_ASSIGN_OR_RETURN(*replacement, get_string(j, "replacement", where));
  size_t n = 0;
  for (size_t i = 0; i < replacement->size(); ++i) n += ((*replacement)[i] & 0xC0) != 0x80;
  if (n != 1) return bad(where + ".replacement must be one character");
  const auto it = j.find("prepend_scheme");
  if (it != j.end() && !it->is_null()) {
    if (!it->is_string()) return bad(where + ".prepend_scheme must be a string");
    const std::string s = it->get<std::string>();
    if (s == "always")
      *scheme = PrependScheme::kAlways;
    else if (s == "first")
      *scheme = PrependScheme::kFirst;
    else if (s == "never")
      *scheme = PrependScheme::kNever;
    else
      return bad(where + ".prepend_scheme '" + s + "' is not always, first or never");
    return ok_status();
  }
  PD_ASSIGN_OR_RETURN(const bool add, get_bool(j, "add_prefix_space", true, where));
  *scheme = add ? PrependScheme::kAlways : PrependScheme::kNever;
  return ok_status();
}

Result<std::unique_ptr<PreTokenizer>> regex_pre(const char* pattern, SplitBehavior b, bool inv) {
  PD_ASSIGN_OR_RETURN(auto regex, Regex::compile(pattern));
  return std::unique_ptr<PreTokenizer>(new RegexPreTokenizer(std::move(regex), b, inv));
}

Result<std::unique_ptr<PreTokenizer>> load_pre_tokenizer(const Json& j, int depth = 0) {
  const std::string where = "pre_tokenizer";
  if (depth > kMaxDepth)
    return bad("pre_tokenizer Sequences nest deeper than " + std::to_string(kMaxDepth));
  PD_ASSIGN_OR_RETURN(const std::string type, type_of(j, where));
  if (type == "Sequence") {
    PD_ASSIGN_OR_RETURN(const Json* list, field(j, "pretokenizers", where));
    if (!list->is_array()) return bad("pre_tokenizer.pretokenizers must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (const Json& s : *list) {
      PD_ASSIGN_OR_RETURN(auto step, load_pre_tokenizer(s, depth + 1));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PreTokenizer>(new PreTokenizerSequence(std::move(steps)));
  }
  if (type == "ByteLevel") {
    PD_ASSIGN_OR_RETURN(const bool prefix, get_bool(j, "add_prefix_space", true, where));
    PD_ASSIGN_OR_RETURN(const bool use_regex, get_bool(j, "use_regex", true, where));
    std::unique_ptr<Regex> regex;
    if (use_regex) {
      PD_ASSIGN_OR_RETURN(regex, Regex::compile(ByteLevelPreTokenizer::gpt2_pattern()));
    }
    return std::unique_ptr<PreTokenizer>(new ByteLevelPreTokenizer(prefix, std::move(regex)));
  }
  if (type == "Metaspace") {
    std::string replacement;
    PrependScheme scheme;
    PD_RETURN_IF_ERROR(load_metaspace(j, "pre_tokenizer Metaspace", &replacement, &scheme));
    PD_ASSIGN_OR_RETURN(const bool split, get_bool(j, "split", true, where));
    return std::unique_ptr<PreTokenizer>(
        new MetaspacePreTokenizer(std::move(replacement), scheme, split));
  }
  if (type == "Split") {
    std::string literal;
    std::unique_ptr<Regex> regex;
    PD_RETURN_IF_ERROR(load_pattern(j, "pre_tokenizer Split", &literal, &regex));
    PD_ASSIGN_OR_RETURN(const SplitBehavior behavior, load_behavior(j));
    PD_ASSIGN_OR_RETURN(const bool invert, get_bool(j, "invert", false, where));
    return std::unique_ptr<PreTokenizer>(
        new SplitPreTokenizer(std::move(literal), std::move(regex), behavior, invert));
  }
  if (type == "Digits") {
    PD_ASSIGN_OR_RETURN(const bool individual, get_bool(j, "individual_digits", false, where));
    return regex_pre(individual ? "\\p{N}" : "\\p{N}+", SplitBehavior::kIsolated, false);
  }
  if (type == "Whitespace") {
    // HF uses Rust's regex crate here, whose \w is wider than PCRE2's (marks, join controls).
    return regex_pre(R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]+|)"
                     R"([^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}\s]+)",
                     SplitBehavior::kRemoved, true);
  }
  if (type == "WhitespaceSplit") {
    return std::unique_ptr<PreTokenizer>(new WhitespaceSplitPreTokenizer());
  }
  return unsupported("pre_tokenizer", type,
                     "Sequence, ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit");
}

Result<std::unique_ptr<Decoder>> load_decoder(const Json& j, int depth = 0) {
  const std::string where = "decoder";
  if (depth > kMaxDepth)
    return bad("decoder Sequences nest deeper than " + std::to_string(kMaxDepth));
  PD_ASSIGN_OR_RETURN(const std::string type, type_of(j, where));
  if (type == "Sequence") {
    PD_ASSIGN_OR_RETURN(const Json* list, field(j, "decoders", where));
    if (!list->is_array()) return bad("decoder.decoders must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (const Json& s : *list) {
      PD_ASSIGN_OR_RETURN(auto step, load_decoder(s, depth + 1));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<Decoder>(new DecoderSequence(std::move(steps)));
  }
  if (type == "ByteLevel") return std::unique_ptr<Decoder>(new ByteLevelDecoder());
  if (type == "ByteFallback") return std::unique_ptr<Decoder>(new ByteFallbackDecoder());
  if (type == "Fuse") return std::unique_ptr<Decoder>(new FuseDecoder());
  if (type == "Metaspace") {
    std::string replacement;
    PrependScheme scheme;
    PD_RETURN_IF_ERROR(load_metaspace(j, "decoder Metaspace", &replacement, &scheme));
    return std::unique_ptr<Decoder>(
        new MetaspaceDecoder(std::move(replacement), scheme != PrependScheme::kNever));
  }
  if (type == "Replace") {
    std::string literal;
    std::unique_ptr<Regex> regex;
    PD_RETURN_IF_ERROR(load_pattern(j, "decoder Replace", &literal, &regex));
    PD_ASSIGN_OR_RETURN(std::string content, get_string(j, "content", where));
    return std::unique_ptr<Decoder>(
        new ReplaceDecoder(std::move(literal), std::move(regex), std::move(content)));
  }
  if (type == "Strip") {
    PD_ASSIGN_OR_RETURN(std::string content, get_string(j, "content", where));
    if (content.empty() || content.size() > 4)
      return bad("decoder Strip.content must be one character");
    PD_ASSIGN_OR_RETURN(const int64_t start, get_int(j, "start", 0, 1 << 20, where));
    PD_ASSIGN_OR_RETURN(const int64_t stop, get_int(j, "stop", 0, 1 << 20, where));
    return std::unique_ptr<Decoder>(new StripDecoder(std::move(content), static_cast<size_t>(start),
                                                     static_cast<size_t>(stop)));
  }
  return unsupported("decoder", type,
                     "Sequence, ByteLevel, ByteFallback, Fuse, Metaspace, Replace, Strip");
}

Result<std::unique_ptr<PostProcessor>> load_post_processor(const Json& j, int depth = 0) {
  const std::string where = "post_processor";
  if (depth > kMaxDepth)
    return bad("post_processor Sequences nest deeper than " + std::to_string(kMaxDepth));
  PD_ASSIGN_OR_RETURN(const std::string type, type_of(j, where));
  if (type == "ByteLevel") return std::unique_ptr<PostProcessor>(new NoopPostProcessor());
  if (type == "Sequence") {
    PD_ASSIGN_OR_RETURN(const Json* list, field(j, "processors", where));
    if (!list->is_array()) return bad("post_processor.processors must be an array");
    std::vector<std::unique_ptr<PostProcessor>> steps;
    for (const Json& s : *list) {
      PD_ASSIGN_OR_RETURN(auto step, load_post_processor(s, depth + 1));
      steps.push_back(std::move(step));
    }
    return std::unique_ptr<PostProcessor>(new PostProcessorSequence(std::move(steps)));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    std::vector<TemplateItem> items(3);
    for (const char* name : {"cls", "sep"}) {
      PD_ASSIGN_OR_RETURN(const Json* pair, field(j, name, "post_processor " + type));
      if (!pair->is_array() || pair->size() != 2 || !(*pair)[1].is_number_integer() ||
          (*pair)[1].get<int64_t>() < 0 || (*pair)[1].get<int64_t>() > INT32_MAX) {
        return bad("post_processor " + type + "." + name + " must be [token, id]");
      }
      items[name[0] == 'c' ? 0 : 2].ids.push_back((*pair)[1].get<int32_t>());
    }
    items[1].is_sequence = true;
    return std::unique_ptr<PostProcessor>(new TemplatePostProcessor(std::move(items)));
  }
  if (type == "TemplateProcessing") {
    const std::string w = "post_processor TemplateProcessing";
    PD_ASSIGN_OR_RETURN(const Json* single, field(j, "single", w));
    PD_ASSIGN_OR_RETURN(const Json* specials, field(j, "special_tokens", w));
    if (!single->is_array() || !specials->is_object()) {
      return bad(w + ": 'single' must be an array and 'special_tokens' an object");
    }
    std::vector<TemplateItem> items;
    for (const Json& item : *single) {
      if (!item.is_object() || item.size() != 1) return bad(w + ".single has a malformed item");
      const std::string kind = item.begin().key();
      const Json& body = item.begin().value();
      if (!body.is_object() || !body.contains("id") || !body["id"].is_string()) {
        return bad(w + ".single has a malformed item");
      }
      const std::string id = body["id"].get<std::string>();
      if (kind == "Sequence") {
        if (id != "A") return bad(w + ".single names sequence '" + id + "' (only A)");
        items.push_back({true, {}});
      } else if (kind == "SpecialToken") {
        const auto it = specials->find(id);
        if (it == specials->end() || !it->is_object() || !it->contains("ids") ||
            !(*it)["ids"].is_array()) {
          return bad(w + ": special token '" + id + "' is not in special_tokens");
        }
        TemplateItem t;
        for (const Json& v : (*it)["ids"]) {
          if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX) {
            return bad(w + ": special token '" + id + "' has a bad id");
          }
          t.ids.push_back(v.get<int32_t>());
        }
        items.push_back(std::move(t));
      } else {
        return bad(w + ".single has an item of kind '" + kind + "'");
      }
    }
    return std::unique_ptr<PostProcessor>(new TemplatePostProcessor(std::move(items)));
  }
  return unsupported("post_processor", type,
                     "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence");
}

// Collects the ids a post-processor can emit, to check them against the vocabulary.
void template_ids(const Json& j, std::vector<int64_t>& out, int depth = 0) {
  if (!j.is_object() || depth > kMaxDepth + 8) return;
  for (const auto& [k, v] : j.items()) {
    if ((k == "ids" && v.is_array())) {
      for (const Json& x : v)
        if (x.is_number_integer()) out.push_back(x.get<int64_t>());
    } else if ((k == "cls" || k == "sep") && v.is_array() && v.size() == 2 &&
               v[1].is_number_integer()) {
      out.push_back(v[1].get<int64_t>());
    } else if (v.is_object() || v.is_array()) {
      if (v.is_array()) {
        for (const Json& x : v) template_ids(x, out, depth + 1);
      } else {
        template_ids(v, out, depth + 1);
      }
    }
  }
}

template <typename T, typename F>
Status load_section(std::string_view text, const char* name, F load, std::unique_ptr<T>* out,
                    std::vector<int64_t>* ids) {
  if (text.empty() || text == "null") return ok_status();
  try {
    const Json j = Json::parse(text);
    if (j.is_null()) return ok_status();
    if (ids != nullptr) template_ids(j, *ids);
    PD_ASSIGN_OR_RETURN(*out, load(j, 0));
    return ok_status();
  } catch (const std::exception& e) {
    return bad(std::string(name) + ": " + e.what());
  }
}

}  // namespace

Status load_components(const ComponentJson& json, Pipeline& p, std::vector<int64_t>* post_ids) {
  PD_RETURN_IF_ERROR(
      load_section(json.normalizer, "normalizer", load_normalizer, &p.normalizer, nullptr));
  PD_RETURN_IF_ERROR(load_section(json.pre_tokenizer, "pre_tokenizer", load_pre_tokenizer,
                                  &p.pre_tokenizer, nullptr));
  PD_RETURN_IF_ERROR(load_section(json.post_processor, "post_processor", load_post_processor,
                                  &p.post_processor, post_ids));
  return load_section(json.decoder, "decoder", load_decoder, &p.decoder, nullptr);
}

}  // namespace pdserve::tokenizer
