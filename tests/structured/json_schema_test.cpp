#include "structured/json_schema.h"

#include <gtest/gtest.h>

#include "tests/structured/grammar_test_util.h"

namespace pdserve::structured {
namespace {

Grammar schema_ok(std::string_view schema) {
  Result<Grammar> g = json_schema_grammar(schema);
  EXPECT_TRUE(g.ok()) << schema << ": " << g.status().to_string();
  return g.ok() ? std::move(g).value() : Grammar();
}

std::string schema_error(std::string_view schema) {
  Result<Grammar> g = json_schema_grammar(schema);
  EXPECT_FALSE(g.ok()) << schema;
  return g.ok() ? "" : g.status().message();
}

TEST(JsonSchema, ObjectWithRequiredAndOptionalProperties) {
  Grammar g = schema_ok(R"({"type":"object","properties":{
      "a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},
      "required":["b"]})");
  EXPECT_TRUE(accepts(g, R"({"b":"x"})"));
  EXPECT_TRUE(accepts(g, R"({"a":1,"b":"x","c":true})"));
  EXPECT_TRUE(accepts(g, R"({ "a": -3, "b": "" })"));
  EXPECT_TRUE(accepts(g, "{\n  \"b\": \"x\",\n  \"c\": false\n}"));
  EXPECT_FALSE(accepts(g, R"({"a":1})"));            // b missing
  EXPECT_FALSE(accepts(g, R"({"b":"x","a":1})"));    // schema order
  EXPECT_FALSE(accepts(g, R"({"b":"x","d":1})"));    // no other keys
  EXPECT_FALSE(accepts(g, R"({"a":1.5,"b":"x"})"));  // integer
  EXPECT_FALSE(accepts(g, R"({"b":"x",})"));
}

TEST(JsonSchema, PropertiesComeInTheSchemasOrderNotSorted) {
  // As OpenAI and vLLM generate them: the order the client wrote, at every level.
  Grammar g = schema_ok(R"({"type":"object","properties":{
      "zeta":{"type":"integer"},"alpha":{"type":"object","properties":{
        "y":{"type":"null"},"b":{"type":"null"}},"required":["y","b"]}},
      "required":["zeta","alpha"]})");
  EXPECT_TRUE(accepts(g, R"({"zeta":1,"alpha":{"y":null,"b":null}})"));
  EXPECT_FALSE(accepts(g, R"({"alpha":{"y":null,"b":null},"zeta":1})"));
  EXPECT_FALSE(accepts(g, R"({"zeta":1,"alpha":{"b":null,"y":null}})"));
}

// `count` properties p0.. of type null; `required` lists them all.
std::string many_properties(int count, bool required) {
  std::string props, names;
  for (int i = 0; i < count; ++i) {
    const std::string name = "\"p" + std::to_string(i) + "\"";
    props += (i ? "," : "") + name + ":{\"type\":\"null\"}";
    names += (i ? "," : "") + name;
  }
  return R"({"type":"object","properties":{)" + props + "}" +
         (required ? R"(,"required":[)" + names + "]" : "") + "}";
}

TEST(JsonSchema, ManyOptionalPropertiesStayLinear) {
  // Every member is spelled out a fixed number of times: 2000 optional ones
  // compile (quadratic, that was ~2M member copies), any one alone is an answer.
  Grammar g = schema_ok(many_properties(2000, false));
  EXPECT_TRUE(accepts(g, R"({"p1999":null})"));
  EXPECT_TRUE(accepts(g, R"({"p3":null,"p1999":null})"));
  EXPECT_FALSE(accepts(g, R"({"p1999":null,"p3":null})"));
  // Past the grammar's size bound: refused, neither parsed in quadratic
  // time (nlohmann's ordered parse scans an object's keys for each new key)
  // nor built in quadratic memory.
  for (bool required : {false, true}) {
    const std::string error = schema_error(many_properties(100000, required));
    EXPECT_NE(error.find("too large"), std::string::npos) << error;
  }
}

TEST(JsonSchema, AllOptionalAndFreeObjects) {
  Grammar opt = schema_ok(R"({"properties":{"a":{"type":"null"},"b":{"type":"null"}}})");
  for (const char* ok : {"{}", R"({"a":null})", R"({"b":null})", R"({"a":null,"b":null})"}) {
    EXPECT_TRUE(accepts(opt, ok)) << ok;
  }
  EXPECT_FALSE(accepts(opt, R"({,"b":null})"));
  Grammar any = schema_ok(R"({"type":"object"})");
  EXPECT_TRUE(accepts(any, R"({"x":[1,{"y":null}],"z":"\u00e9\ud83d\ude00"})"));
  EXPECT_FALSE(accepts(any, R"({"x":"\ud83d"})"));  // a lone surrogate
  Grammar map = schema_ok(R"({"type":"object","additionalProperties":{"type":"integer"}})");
  EXPECT_TRUE(accepts(map, R"({"x":1,"y":2})"));
  EXPECT_FALSE(accepts(map, R"({"x":"1"})"));
}

TEST(JsonSchema, ArraysStringsNumbersEnums) {
  Grammar arr = schema_ok(R"({"type":"array","items":{"enum":["a",1,null]},"minItems":1,
                              "maxItems":3})");
  EXPECT_TRUE(accepts(arr, R"(["a"])"));
  EXPECT_TRUE(accepts(arr, R"(["a", 1, null])"));
  EXPECT_FALSE(accepts(arr, "[]"));
  EXPECT_FALSE(accepts(arr, R"(["a",1,null,"a"])"));
  EXPECT_FALSE(accepts(arr, R"(["b"])"));
  Grammar str = schema_ok(R"({"type":"string","minLength":2,"maxLength":3})");
  EXPECT_TRUE(accepts(str, R"("ab")"));
  EXPECT_TRUE(accepts(str, R"("a\"c")"));
  EXPECT_TRUE(accepts(str, "\"\xC3\xA9\xC3\xA9\""));
  EXPECT_FALSE(accepts(str, R"("a")"));
  EXPECT_FALSE(accepts(str, R"("abcd")"));
  Grammar pat = schema_ok(R"({"type":"string","pattern":"^[a-z]+\"?$"})");
  EXPECT_TRUE(accepts(pat, R"("abc\"")"));
  EXPECT_FALSE(accepts(pat, R"("abc"")"));
  Grammar search = schema_ok(R"({"type":"string","pattern":"\\d"})");
  EXPECT_TRUE(accepts(search, R"("ab1cd")"));
  EXPECT_FALSE(accepts(search, R"("abcd")"));
  Grammar num = schema_ok(R"({"type":"number","exclusiveMinimum":0,"maximum":1})");
  EXPECT_TRUE(accepts(num, "0.25"));
  EXPECT_TRUE(accepts(num, "1"));
  EXPECT_FALSE(accepts(num, "0"));
  EXPECT_FALSE(accepts(num, "1.5"));
  Grammar any_num = schema_ok(R"({"type":"number"})");
  EXPECT_TRUE(accepts(any_num, "-1.5e+10"));
  EXPECT_FALSE(accepts(any_num, "01"));
  Grammar types = schema_ok(R"({"type":["string","null"]})");
  EXPECT_TRUE(accepts(types, "null"));
  EXPECT_TRUE(accepts(types, R"("x")"));
  EXPECT_FALSE(accepts(types, "1"));
  Grammar c = schema_ok(R"({"const":{"k":[1,"two"]}})");
  EXPECT_TRUE(accepts(c, R"({"k":[1,"two"]})"));
}

TEST(JsonSchema, Formats) {
  Grammar g = schema_ok(R"({"type":"object","properties":{
      "d":{"type":"string","format":"date-time"},"u":{"type":"string","format":"uuid"},
      "e":{"type":"string","format":"email"},"i":{"type":"string","format":"ipv4"}},
      "required":["d","u","e","i"]})");
  EXPECT_TRUE(accepts(g, R"({"d":"2024-02-29T12:00:00Z","u":"123e4567-e89b-12d3-a456-426614174000",
      "e":"a.b@example.com","i":"192.168.0.255"})"));
  EXPECT_FALSE(accepts(g, R"({"d":"2024-13-29T12:00:00Z","u":"123e4567-e89b-12d3-a456-426614174000",
      "e":"a.b@example.com","i":"192.168.0.255"})"));
  EXPECT_FALSE(accepts(g, R"({"d":"2024-02-29T12:00:00Z","u":"123e4567-e89b-12d3-a456-426614174000",
      "e":"a.b@example.com","i":"192.168.0.256"})"));
}

TEST(JsonSchema, RefsAndRecursion) {
  Grammar g = schema_ok(R"({"$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},
      "required":["v"]}},"$ref":"#/$defs/node"})");
  EXPECT_TRUE(accepts(g, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[]}]})"));
  EXPECT_FALSE(accepts(g, R"({"v":1,"kids":[{}]})"));
  Grammar any = schema_ok(R"({"anyOf":[{"type":"integer"},{"$ref":"#/definitions/s"}],
                             "definitions":{"s":{"type":"string","maxLength":1}}})");
  EXPECT_TRUE(accepts(any, "12"));
  EXPECT_TRUE(accepts(any, R"("a")"));
  EXPECT_FALSE(accepts(any, R"("ab")"));
}

TEST(JsonSchema, UnsupportedAndInvalidSchemasAreErrors) {
  struct Case {
    const char* schema;
    const char* message;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {R"({"type":"string","not":{}})", "keyword 'not' is not supported at #"},
      {R"({"properties":{"a":{"type":"integer","multipleOf":2}}})",
       "keyword 'multipleOf' is not supported at #/properties/a"},
      {R"({"type":"array","uniqueItems":true})", "'uniqueItems' is not supported"},
      {R"({"type":"object","properties":{"a":{}},"additionalProperties":true})",
       "additionalProperties next to properties"},
      {R"({"type":"object","properties":{},"required":["x"]})", "'x' is not in 'properties'"},
      {R"({"type":"number","minimum":0.5})", "integer-valued bound"},
      {R"({"type":"integer","minimum":5,"maximum":4})", "leave no value"},
      {R"({"type":"string","format":"color"})", "format 'color' is not supported"},
      {R"({"type":"string","pattern":"(a"})", "pattern: regex"},
      {R"({"type":"string","pattern":"a","maxLength":3})", "only one of pattern"},
      {R"({"type":"array","minItems":3,"maxItems":2})", "maxItems is below minItems"},
      {R"({"$ref":"#/$defs/missing"})", "$ref points to nothing"},
      {R"({"$ref":"http://x/y"})", "is not local"},
      {R"({"$ref":"#"})", "never ends"},
      {R"({"type":"widget"})", "unknown type 'widget'"},
      {R"({"allOf":[{},{}]})", "allOf with more than one"},
      {R"({"enum":[]})", "non-empty list"},
      {"false", "matches nothing"},
      {"3", "must be an object or a boolean"},
  };
  for (const Case& c : cases) {
    std::string message = schema_error(c.schema);
    EXPECT_NE(message.find(c.message), std::string::npos) << c.schema << " -> " << message;
    EXPECT_EQ(message.rfind("json schema: ", 0), 0u) << message;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"type":"array","items":)";
  deep += "{}" + std::string(100, '}');
  EXPECT_NE(schema_error(deep).find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace pdserve::structured
