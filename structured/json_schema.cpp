#include "structured/json_schema.h"

#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "common/json/json_reader.h"
#include "structured/ebnf_parser.h"
#include "structured/grammar_builder.h"
#include "structured/json_base_rules.h"
#include "structured/json_string_content.h"
#include "structured/number_ranges.h"
#include "structured/regex_parser.h"

namespace pdserve::structured {
namespace {

// Properties are generated in the schema's order: parsed keeping it.
using Json = json_reader::OrderedJson;

const std::set<std::string>& annotation_keywords() {
  static const std::set<std::string> kKeys = {
      "$schema",  "$id",        "$comment", "title",     "description", "default",
      "examples", "deprecated", "readOnly", "writeOnly", "$defs",       "definitions"};
  return kKeys;
}

const std::set<std::string>& supported_keywords() {
  static const std::set<std::string> kKeys = {"type",
                                              "enum",
                                              "const",
                                              "anyOf",
                                              "oneOf",
                                              "allOf",
                                              "$ref",
                                              "properties",
                                              "required",
                                              "additionalProperties",
                                              "items",
                                              "minItems",
                                              "maxItems",
                                              "uniqueItems",
                                              "minLength",
                                              "maxLength",
                                              "pattern",
                                              "format",
                                              "minimum",
                                              "maximum",
                                              "exclusiveMinimum",
                                              "exclusiveMaximum"};
  return kKeys;
}

constexpr int kMaxDepth = 64;        // nested schemas
constexpr int kMaxTextDepth = 1024;  // nested JSON values of the schema's text

class SchemaCompiler {
 public:
  explicit SchemaCompiler(const Json& root) : root_(root) {}

  Result<Grammar> compile() {
    PD_RETURN_IF_ERROR(add_ebnf_rules(json_base_rules(), &b_));
    int32_t root = b_.declare_rule("root");
    refs_["#"] = root;
    PD_ASSIGN_OR_RETURN(Expr body, schema(root_, "#", 0));
    PD_RETURN_IF_ERROR(b_.define_rule(root, body));
    while (!pending_.empty()) {
      auto [pointer, rule] = pending_.front();
      pending_.pop_front();
      PD_ASSIGN_OR_RETURN(const Json* target, resolve(pointer));
      PD_ASSIGN_OR_RETURN(Expr ref_body, schema(*target, pointer, 0));
      PD_RETURN_IF_ERROR(b_.define_rule(rule, ref_body));
    }
    Result<Grammar> grammar = b_.build(root);
    if (!grammar.ok()) return grammar.status().with_context("json schema");
    return grammar;
  }

 private:
  static Status error(const std::string& path, const std::string& message) {
    return invalid_argument("json schema: " + message + " at " + path);
  }

  Expr rule(const char* name) { return Expr::ref(b_.find_rule(name)); }
  Expr ws() { return rule("ws"); }

  Result<const Json*> resolve(const std::string& pointer) {
    const Json* node = &root_;
    size_t i = 1;
    while (i < pointer.size()) {
      if (pointer[i] != '/') return error(pointer, "malformed $ref");
      size_t next = pointer.find('/', i + 1);
      size_t end = next == std::string::npos ? pointer.size() : next;
      std::string token;
      for (size_t k = i + 1; k < end; ++k) {
        bool escaped = pointer[k] == '~' && k + 1 < end;
        token += escaped ? (pointer[k + 1] == '1' ? '/' : '~') : pointer[k];
        k += escaped ? 1 : 0;
      }
      if (!node->is_object() || !node->contains(token)) {
        return error(pointer, "$ref points to nothing");
      }
      node = &(*node)[token];
      i = next == std::string::npos ? pointer.size() : next;
    }
    return node;
  }

  Result<Expr> ref(const Json& value, const std::string& path) {
    if (!value.is_string()) return error(path, "$ref must be a string");
    std::string pointer = value.get<std::string>();
    if (pointer.empty() || pointer[0] != '#') {
      return error(path, "$ref '" + pointer + "' is not local (only '#...' refs are supported)");
    }
    auto it = refs_.find(pointer);
    if (it != refs_.end()) return Expr::ref(it->second);
    int32_t id = b_.declare_rule("ref" + std::to_string(refs_.size()));
    refs_[pointer] = id;
    pending_.emplace_back(pointer, id);
    return Expr::ref(id);
  }

  Result<Expr> schema(const Json& s, const std::string& path, int depth) {
    if (depth > kMaxDepth) return error(path, "schema nested too deeply");
    if (s.is_boolean()) {
      if (s.get<bool>()) return rule("json-value");
      return error(path, "schema 'false' matches nothing");
    }
    if (!s.is_object()) return error(path, "a schema must be an object or a boolean");
    for (const auto& [key, value] : s.items()) {
      if (!supported_keywords().count(key) && !annotation_keywords().count(key)) {
        return error(path, "keyword '" + key + "' is not supported");
      }
    }
    if (s.contains("$ref")) {
      for (const auto& [key, value] : s.items()) {
        if (key != "$ref" && !annotation_keywords().count(key)) {
          return error(path, "keyword '" + key + "' next to $ref is not supported");
        }
      }
      return ref(s["$ref"], path);
    }
    if (s.contains("const")) return literal_value(s["const"]);
    if (s.contains("enum")) return enum_values(s["enum"], path);
    for (const char* key : {"anyOf", "oneOf", "allOf"}) {
      if (s.contains(key)) return combination(s, key, path, depth);
    }
    std::vector<std::string> types;
    if (s.contains("type")) {
      const Json& t = s["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const Json& one : t) {
          if (!one.is_string()) return error(path, "'type' must name types");
          types.push_back(one.get<std::string>());
        }
      } else {
        return error(path, "'type' must be a type name or a list of them");
      }
    } else if (s.contains("properties") || s.contains("additionalProperties")) {
      types.push_back("object");
    } else if (s.contains("items") || s.contains("minItems") || s.contains("maxItems")) {
      types.push_back("array");
    } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") ||
               s.contains("maxLength")) {
      types.push_back("string");
    } else if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
               s.contains("exclusiveMaximum")) {
      types.push_back("number");
    } else {
      return rule("json-value");
    }
    std::vector<Expr> options;
    for (const std::string& type : types) {
      PD_ASSIGN_OR_RETURN(Expr e, typed(s, type, path, depth));
      options.push_back(std::move(e));
    }
    return Expr::alt(std::move(options));
  }

  Result<Expr> typed(const Json& s, const std::string& type, const std::string& path, int depth) {
    if (type == "object") return object(s, path, depth);
    if (type == "array") return array(s, path, depth);
    if (type == "string") return string(s, path);
    if (type == "integer" || type == "number") return number(s, path, type == "integer");
    if (type == "boolean") return Expr::alt({Expr::literal("true"), Expr::literal("false")});
    if (type == "null") return Expr::literal("null");
    return error(path, "unknown type '" + type + "'");
  }

  static Expr literal_value(const Json& v) { return Expr::literal(v.dump()); }

  Result<Expr> enum_values(const Json& values, const std::string& path) {
    if (!values.is_array() || values.empty()) return error(path, "'enum' must be a non-empty list");
    std::vector<Expr> options;
    for (const Json& v : values) options.push_back(literal_value(v));
    return Expr::alt(std::move(options));
  }

  Result<Expr> combination(const Json& s, const char* key, const std::string& path, int depth) {
    for (const auto& [k, v] : s.items()) {
      if (k != key && !annotation_keywords().count(k)) {
        return error(path, "keyword '" + k + "' next to " + key + " is not supported");
      }
    }
    const Json& list = s[key];
    if (!list.is_array() || list.empty()) {
      return error(path, std::string("'") + key + "' must be a non-empty list");
    }
    if (std::string(key) == "allOf" && list.size() != 1) {
      return error(path, "allOf with more than one schema is not supported");
    }
    std::vector<Expr> options;
    for (size_t i = 0; i < list.size(); ++i) {
      std::string sub = path + "/" + key + "/" + std::to_string(i);
      PD_ASSIGN_OR_RETURN(Expr e, schema(list[i], sub, depth + 1));
      options.push_back(std::move(e));
    }
    return Expr::alt(std::move(options));
  }

  Result<Expr> object(const Json& s, const std::string& path, int depth) {
    std::vector<std::pair<std::string, Expr>> members;
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return error(path, "'required' must be a list of names");
      for (const Json& name : s["required"]) {
        if (!name.is_string()) return error(path, "'required' must be a list of names");
        required.insert(name.get<std::string>());
      }
    }
    if (s.contains("properties")) {
      if (!s["properties"].is_object()) return error(path, "'properties' must be an object");
      for (const auto& [name, sub] : s["properties"].items()) {
        PD_ASSIGN_OR_RETURN(Expr value, schema(sub, path + "/properties/" + name, depth + 1));
        members.emplace_back(name, Expr::seq({Expr::literal(Json(name).dump()), ws(),
                                              Expr::literal(":"), ws(), std::move(value)}));
      }
    }
    std::set<std::string> names;
    for (const auto& m : members) names.insert(m.first);
    for (const std::string& name : required) {
      if (!names.count(name))
        return error(path, "required property '" + name + "' is not in 'properties'");
    }
    // Absent additionalProperties: no other keys next to properties (what
    // strict clients mean), any object without them ({"type": "object"}).
    const Json extra = s.contains("additionalProperties") ? s["additionalProperties"]
                                                          : Json(!s.contains("properties"));
    if (!(extra.is_boolean() && !extra.get<bool>())) {
      if (!members.empty()) {
        return error(path,
                     "additionalProperties next to properties is not supported (set it to "
                     "false)");
      }
      PD_ASSIGN_OR_RETURN(Expr value, schema(extra, path + "/additionalProperties", depth + 1));
      Expr pair = Expr::seq({rule("json-string"), ws(), Expr::literal(":"), ws(), value});
      return bracketed("{", "}", pair, 0, kUnbounded);
    }
    PD_ASSIGN_OR_RETURN(Expr body, members_expr(members, required));
    return Expr::seq({Expr::literal("{"), ws(), std::move(body), ws(), Expr::literal("}")});
  }

  // Members in the schema's order; optional ones may be left out, commas
  // only between the ones present. Option k: member k is the first one
  // present, then tail k+1, where tail j is member j (after a comma; left out
  // when optional) then tail j+1: a rule each, so every member is spelled
  // out twice whatever the count (a flat option per k spelled the members
  // after k again each time, quadratic in the members).
  Result<Expr> members_expr(const std::vector<std::pair<std::string, Expr>>& members,
                            const std::set<std::string>& required) {
    const size_t n = members.size();
    std::vector<Expr> tails(n + 1, Expr::empty());
    for (size_t j = n; j-- > 1;) {
      Expr next = Expr::seq({ws(), Expr::literal(","), ws(), members[j].second});
      if (!required.count(members[j].first)) next = Expr::optional(std::move(next));
      const int32_t tail = b_.declare_rule("members-tail");
      PD_RETURN_IF_ERROR(b_.define_rule(tail, Expr::seq({std::move(next), tails[j + 1]})));
      tails[j] = Expr::ref(tail);
    }
    std::vector<Expr> options;
    for (size_t k = 0; k < n; ++k) {
      options.push_back(Expr::seq({members[k].second, tails[k + 1]}));
      if (required.count(members[k].first)) break;  // it cannot be left out
    }
    bool all_optional = true;
    for (const auto& m : members) all_optional = all_optional && !required.count(m.first);
    if (all_optional) options.push_back(Expr::empty());
    return Expr::alt(std::move(options));
  }

  Result<int32_t> count(const Json& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return int32_t{-1};
    const Json& v = s[key];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
        v.get<int64_t>() > GrammarBuilder::kMaxRepeat) {
      return error(path, std::string("'") + key + "' must be an integer from 0 to " +
                             std::to_string(GrammarBuilder::kMaxRepeat));
    }
    return static_cast<int32_t>(v.get<int64_t>());
  }

  // open item (sep item){min-1,max-1} close, or open close when min is 0.
  Expr bracketed(const char* open, const char* close, const Expr& item, int32_t min, int32_t max) {
    Expr more = Expr::seq({ws(), Expr::literal(","), ws(), item});
    int32_t more_min = std::max(min - 1, 0);
    int32_t more_max = max == kUnbounded ? kUnbounded : max - 1;
    Expr list = Expr::seq({item, Expr::repeat(more, more_min, more_max)});
    if (min == 0) list = Expr::optional(std::move(list));
    if (max == 0) list = Expr::empty();
    return Expr::seq({Expr::literal(open), ws(), std::move(list), ws(), Expr::literal(close)});
  }

  Result<Expr> array(const Json& s, const std::string& path, int depth) {
    if (s.contains("uniqueItems") && s["uniqueItems"] != Json(false)) {
      return error(path, "'uniqueItems' is not supported");
    }
    PD_ASSIGN_OR_RETURN(int32_t min, count(s, "minItems", path));
    PD_ASSIGN_OR_RETURN(int32_t max, count(s, "maxItems", path));
    min = std::max(min, 0);
    if (max == -1) max = kUnbounded;
    if (max != kUnbounded && max < min) return error(path, "maxItems is below minItems");
    Expr item = rule("json-value");
    if (s.contains("items")) {
      if (s["items"] == Json(false)) {
        if (min > 0) return error(path, "'items': false with minItems above 0 matches nothing");
        max = 0;
      } else {
        PD_ASSIGN_OR_RETURN(item, schema(s["items"], path + "/items", depth + 1));
      }
    }
    return bracketed("[", "]", item, min, max);
  }

  Result<Expr> string(const Json& s, const std::string& path) {
    PD_ASSIGN_OR_RETURN(int32_t min, count(s, "minLength", path));
    PD_ASSIGN_OR_RETURN(int32_t max, count(s, "maxLength", path));
    bool has_length = min >= 0 || max >= 0;
    int kinds = (s.contains("pattern") ? 1 : 0) + (s.contains("format") ? 1 : 0) + has_length;
    if (kinds > 1) {
      return error(path, "only one of pattern, format and min/maxLength is supported on a string");
    }
    Expr content = Expr::star(rule("json-char"));
    if (s.contains("pattern") || s.contains("format")) {
      const char* key = s.contains("pattern") ? "pattern" : "format";
      if (!s[key].is_string()) return error(path, std::string("'") + key + "' must be a string");
      std::string text = s[key].get<std::string>();
      std::string regex = text;
      if (s.contains("format")) {
        Result<std::string_view> r = format_regex(text);
        if (!r.ok()) return error(path, r.status().message());
        regex = std::string(*r);
      }
      Result<Expr> parsed =
          parse_regex(regex, s.contains("pattern") ? RegexMatch::kSearch : RegexMatch::kFull);
      if (!parsed.ok()) return error(path, "pattern: " + parsed.status().message());
      content = to_json_string_content(*parsed);
    } else if (has_length) {
      if (max >= 0 && max < std::max(min, 0)) return error(path, "maxLength is below minLength");
      content = Expr::repeat(rule("json-char"), std::max(min, 0), max < 0 ? kUnbounded : max);
    }
    return Expr::seq({Expr::literal("\""), std::move(content), Expr::literal("\"")});
  }

  Result<std::optional<int64_t>> bound(const Json& s, const char* key, const std::string& path) {
    if (!s.contains(key)) return std::optional<int64_t>();
    const Json& v = s[key];
    if (!v.is_number()) return error(path, std::string("'") + key + "' must be a number");
    double d = v.get<double>();
    if (std::floor(d) != d || std::fabs(d) > static_cast<double>(kMaxNumberBound)) {
      return error(path, std::string("'") + key +
                             "' must be an integer-valued bound of at most 1e18 in magnitude");
    }
    return std::optional<int64_t>(v.is_number_integer() ? v.get<int64_t>()
                                                        : static_cast<int64_t>(d));
  }

  Result<Expr> number(const Json& s, const std::string& path, bool integer) {
    NumberBounds b;
    PD_ASSIGN_OR_RETURN(b.min, bound(s, "minimum", path));
    PD_ASSIGN_OR_RETURN(b.max, bound(s, "maximum", path));
    PD_ASSIGN_OR_RETURN(std::optional<int64_t> xmin, bound(s, "exclusiveMinimum", path));
    PD_ASSIGN_OR_RETURN(std::optional<int64_t> xmax, bound(s, "exclusiveMaximum", path));
    if (xmin && (!b.min || *xmin >= *b.min)) {
      b.min = xmin;
      b.min_exclusive = true;
    }
    if (xmax && (!b.max || *xmax <= *b.max)) {
      b.max = xmax;
      b.max_exclusive = true;
    }
    if (integer ? integer_range_is_empty(b) : number_range_is_empty(b)) {
      return error(path, "the bounds leave no value");
    }
    if (integer) return integer_in_range(b);
    if (!b.min && !b.max) return rule("json-number");
    return number_in_range(b);
  }

  const Json& root_;
  GrammarBuilder b_;
  std::map<std::string, int32_t> refs_;
  std::deque<std::pair<std::string, int32_t>> pending_;
};

}  // namespace

Result<Grammar> json_schema_grammar(std::string_view schema_json) {
  json_reader::BasicParsed<Json> root = json_reader::parse_ordered(schema_json, kMaxTextDepth);
  if (root.too_deep)
    return invalid_argument("json schema: nested deeper than " + std::to_string(kMaxTextDepth) +
                            " levels");
  if (!root.value) return invalid_argument("json schema: not valid JSON");
  return SchemaCompiler(*root.value).compile();
}

Result<Grammar> json_object_grammar() {
  GrammarBuilder b;
  PD_RETURN_IF_ERROR(add_ebnf_rules(json_base_rules(), &b));
  return b.build(b.find_rule("json-object"));
}

}  // namespace pdserve::structured
