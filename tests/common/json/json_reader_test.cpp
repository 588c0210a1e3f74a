#include "common/json/json_reader.h"

#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace pdserve::json_reader {
namespace {

Json obj(const char* text) {
  return Json::parse(text);
}

TEST(JsonReaderTest, RequestNamingQuotesTheFieldAndShowsTypes) {
  const Json j = obj(R"({"n": "3", "t": 2.5, "m": 1.5, "b": 1})");
  FieldReader r(j);
  int n = 7;
  r.get_int("n", 1, 16, n);
  EXPECT_EQ(n, 7);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.first_error().field, "n");
  EXPECT_EQ(r.first_error().message, "'n' must be an integer, got a string");
  // Later reads do nothing once a problem is kept.
  float t = 0;
  r.get_float("t", 0, 2, false, t);
  EXPECT_EQ(t, 0);
  EXPECT_EQ(r.first_error().field, "n");
  EXPECT_EQ(r.status().message(), "'n' must be an integer, got a string");
}

TEST(JsonReaderTest, RangesShowTheValue) {
  const Json j = obj(R"({"t": 2.5, "n": 17, "k": 1.5, "big": 18446744073709551615})");
  auto first = [&](auto read) {
    FieldReader r(j);
    read(r);
    return r.ok() ? std::string() : r.first_error().message;
  };
  EXPECT_EQ(first([](FieldReader& r) {
              float t = 0;
              r.get_float("t", 0, 2, false, t);
            }),
            "'t' must be in [0, 2], got 2.5");
  EXPECT_EQ(first([](FieldReader& r) {
              int n = 0;
              r.get_int("n", 1, 16, n);
            }),
            "'n' must be an integer in [1, 16], got 17");
  EXPECT_EQ(first([](FieldReader& r) {
              int k = 0;
              r.get_int("k", 1, 16, k);
            }),
            "'k' must be an integer, got a number");
  EXPECT_EQ(first([](FieldReader& r) {
              std::optional<int64_t> v;
              r.get_int("big", 0, INT64_MAX, v);
            }),
            "'big' must be an integer in [0, 9223372036854775807], got 18446744073709551615");
}

TEST(JsonReaderTest, AbsentAndNullLeaveTheValue) {
  const Json j = obj(R"({"a": null})");
  FieldReader r(j);
  std::string a = "kept", b = "kept";
  r.get_string("a", a);
  r.get_string("b", b);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(a, "kept");
  EXPECT_EQ(b, "kept");
  EXPECT_TRUE(r.contains("a"));
  EXPECT_FALSE(r.has("a"));
  r.require("a");
  EXPECT_EQ(r.first_error().message, "'a' is missing");
}

TEST(JsonReaderTest, FileNamingNamesTheFileAndShowsValues) {
  const Json j = obj(R"({"hidden_size": "64", "tie": "yes", "rope": {"factor": -1}})");
  FieldReader f(j, Naming::file("config.json"));
  EXPECT_EQ(f.required_int("hidden_size", 1, 100).status().message(),
            "config.json: \"hidden_size\" must be an integer, got \"64\"");
  EXPECT_EQ(f.required_int("layers", 1, 100).status().message(),
            "config.json: \"layers\" is missing");
  EXPECT_EQ(f.bool_or("tie", false).status().message(),
            "config.json: \"tie\" must be a boolean, got \"yes\"");
  Result<std::optional<FieldReader>> rope = f.optional_object("rope");
  ASSERT_TRUE(rope.ok());
  ASSERT_TRUE(rope.value().has_value());
  EXPECT_EQ(rope.value()->optional_int("factor", 0, 8).status().message(),
            "config.json: \"rope.factor\" must be an integer in [0, 8], got -1");
  EXPECT_EQ(f.number_or("eps", 1e-5).value(), 1e-5);
}

TEST(JsonReaderTest, PlainNamingForTokenizerJson) {
  const Json j = obj(R"({"prepend": 3})");
  FieldReader f(j, {"tokenizer.json", 0, true}, "normalizer");
  EXPECT_EQ(f.required_string("prepend").status().message(),
            "tokenizer.json: normalizer.prepend must be a string, got 3");
}

TEST(JsonReaderTest, ParseRefusesDeepTextBeforeParsing) {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  Parsed p = parse(deep, 64);
  EXPECT_TRUE(p.too_deep);
  EXPECT_FALSE(p.value.has_value());
  p = parse("{\"a\": [1, 2]}", 64);
  ASSERT_TRUE(p.value.has_value());
  p = parse("{not json", 64);
  EXPECT_FALSE(p.too_deep);
  EXPECT_FALSE(p.value.has_value());
  EXPECT_EQ(nesting_depth(R"({"s": "[[[["})", 10), 1);
  EXPECT_NE(parse_file_text("{", "x.json").status().message().find("x.json: invalid JSON: "),
            std::string::npos);
}

TEST(JsonReaderTest, ParseOrderedKeepsTheTextsKeyOrder) {
  const std::string text =
      R"({"zeta": 1, "alpha": {"y": [true, null, 2.5, "s", {"b": 1, "a": 2}], "b": -3}, "mid": 18446744073709551615})";
  BasicParsed<OrderedJson> p = parse_ordered(text, 64);
  ASSERT_TRUE(p.value.has_value());
  EXPECT_EQ(dump(*p.value), dump(OrderedJson::parse(text)));
  EXPECT_EQ(
      dump(*p.value),
      R"({"zeta":1,"alpha":{"y":[true,null,2.5,"s",{"b":1,"a":2}],"b":-3},"mid":18446744073709551615})");
  // A repeated key keeps its first place and takes its last value (Python's json.loads).
  EXPECT_EQ(dump(*parse_ordered(R"({"a": 1, "b": 2, "a": {"c": 3}})", 64).value),
            R"({"a":{"c":3},"b":2})");
  EXPECT_EQ(dump(*parse_ordered("[]", 64).value), "[]");
  EXPECT_EQ(dump(*parse_ordered("\"x\"", 64).value), "\"x\"");
  EXPECT_FALSE(parse_ordered("{\"a\": 1,}", 64).value.has_value());
  EXPECT_FALSE(parse_ordered("{\"a\": 1} 2", 64).value.has_value());
  EXPECT_FALSE(parse_ordered("", 64).value.has_value());
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(parse_ordered(deep, 64).too_deep);
}

TEST(JsonReaderTest, ParseOrderedIsLinearInTheKeys) {
  // nlohmann's own ordered parse scans an object for each new key: minutes
  // for these 200k keys. This one indexes them, and reads them back in order.
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
  text += ",\"k7\":1}";
  BasicParsed<OrderedJson> p = parse_ordered(text, 64);
  ASSERT_TRUE(p.value.has_value());
  ASSERT_EQ(p.value->size(), 200000u);
  EXPECT_EQ(p.value->begin().key(), "k0");
  EXPECT_EQ((*p.value)["k7"], 1);
  auto last = p.value->end();
  --last;
  EXPECT_EQ(last.key(), "k199999");
}

TEST(JsonReaderTest, OrderedFieldReaderReadsAsTheSortedOne) {
  const OrderedJson j = *parse_ordered(R"({"n": "3", "o": {"b": 1, "a": 2}})", 64).value;
  OrderedFieldReader r(j);
  const OrderedJson* o = r.get_object("o");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(dump(*o), R"({"b":1,"a":2})");
  int n = 0;
  r.get_int("n", 1, 16, n);
  EXPECT_EQ(r.status().message(), "'n' must be an integer, got a string");
}

TEST(JsonReaderTest, ExcerptIsShortAtAnyDepth) {
  const int depth = 100000;
  const Json v = Json::parse(std::string(depth, '[') + std::string(depth, ']'));
  EXPECT_EQ(excerpt(v), "[[[[[...]]]]]");
  EXPECT_EQ(quote("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(as_int(Json(3.0)), 3);
  EXPECT_EQ(as_int(Json(3.5)), std::nullopt);
}

}  // namespace
}  // namespace pdserve::json_reader
