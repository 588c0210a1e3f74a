#include "engine/model/safetensors_header.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "tests/engine/model/model_test_files.h"

namespace pdserve::model {
namespace {

using testing::fails_with;
using testing::length_prefix;
using testing::raw_safetensors;
using testing::safetensors_file;

constexpr const char* kFile = "x.safetensors";

Result<SafetensorsHeader> parse(const std::string& bytes) {
  return parse_safetensors_header(
      std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), kFile);
}

// One tensor entry `name` with the given JSON fields, in a file whose data
// section holds `data_bytes` bytes.
Status parse_entry(const std::string& fields, size_t data_bytes = 64) {
  return parse(raw_safetensors("{\"t\":{" + fields + "}}", data_bytes)).status();
}

TEST(SafetensorsHeaderTest, ParsesAWellFormedFile) {
  std::string bytes = safetensors_file(
      {{"b", {2, 3}, "BF16"}, {"a", {4}, "F32"}, {"c", {}, "I32"}, {"d", {5}, "F16"}},
      R"({"format":"pt"})");
  auto h = parse(bytes);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  ASSERT_EQ(h->tensors.size(), 4u);
  EXPECT_EQ(h->tensors[0].name, "a");  // sorted by name
  EXPECT_EQ(h->tensors[1].name, "b");
  const SafetensorsTensor& a = h->tensors[0];
  EXPECT_EQ(a.dtype, backend::DType::kF32);
  EXPECT_EQ(a.shape, std::vector<int64_t>{4});
  EXPECT_EQ(a.begin, 12u);  // after b's 12 bytes
  EXPECT_EQ(a.end, 28u);
  EXPECT_EQ(h->tensors[1].dtype, backend::DType::kBF16);
  EXPECT_EQ(h->tensors[2].dtype, backend::DType::kI32);
  EXPECT_TRUE(h->tensors[2].shape.empty());  // a scalar: one element
  EXPECT_EQ(h->tensors[2].end - h->tensors[2].begin, 4u);
  EXPECT_EQ(h->tensors[3].dtype, backend::DType::kF16);
  EXPECT_EQ(h->data_size, 12u + 16u + 4u + 10u);
  EXPECT_EQ(h->data_offset + h->data_size, bytes.size());
  EXPECT_EQ(h->data_offset % 8, 0u);
  ASSERT_EQ(h->metadata.size(), 1u);
  EXPECT_EQ(h->metadata[0], (std::pair<std::string, std::string>{"format", "pt"}));
}

TEST(SafetensorsHeaderTest, ParsesTheCommittedFixture) {
  std::string bytes = testing::read_file(testing::fixture_dir("llama3") / "model.safetensors");
  auto h = parse(bytes);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_GT(h->tensors.size(), 10u);
  for (const SafetensorsTensor& t : h->tensors) EXPECT_EQ(t.dtype, backend::DType::kBF16) << t.name;
}

TEST(SafetensorsHeaderTest, EmptyHeaderAndEmptyTensors) {
  auto none = parse(raw_safetensors("{}"));
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->tensors.empty());
  // Zero-element tensors take no bytes and overlap nothing, wherever they sit.
  auto empty = parse(raw_safetensors(R"({"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]},)"
                                     R"("f":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                                     4));
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_EQ(empty->tensors.size(), 2u);
}

TEST(SafetensorsHeaderTest, FileShorterThanTheLengthPrefix) {
  for (size_t size = 0; size < 8; ++size) {
    EXPECT_TRUE(fails_with(parse(std::string(size, '\0')).status(),
                           {"x.safetensors: the file is " + std::to_string(size) +
                            " bytes, too short for the 8-byte header length"}));
  }
}

TEST(SafetensorsHeaderTest, HeaderLengthOverTheCap) {
  EXPECT_TRUE(fails_with(parse(length_prefix(kMaxSafetensorsHeaderBytes + 1) + "{}").status(),
                         {"x.safetensors: header length 104857601 exceeds the limit of 104857600 "
                          "bytes"}));
  EXPECT_TRUE(fails_with(parse(length_prefix(UINT64_MAX) + "{}").status(),
                         {"header length 18446744073709551615 exceeds the limit"}));
}

TEST(SafetensorsHeaderTest, HeaderLengthPastTheEndOfFile) {
  EXPECT_TRUE(fails_with(parse(length_prefix(100) + "{}").status(),
                         {"x.safetensors: header length 100 runs past the end of the file (10 "
                          "bytes)"}));
  EXPECT_TRUE(fails_with(parse(length_prefix(kMaxSafetensorsHeaderBytes)).status(),
                         {"header length 104857600 runs past the end of the file (8 bytes)"}));
  // Exactly up to the end is fine: a header with no data section.
  EXPECT_TRUE(parse(length_prefix(2) + "{}").ok());
}

TEST(SafetensorsHeaderTest, HeaderNotJson) {
  for (const char* text : {"", "{", "{\"a\":}", "{} trailing", "\xff\xfe"}) {
    EXPECT_TRUE(fails_with(parse(raw_safetensors(text)).status(),
                           {"x.safetensors: header is not valid JSON: "}))
        << text;
  }
}

TEST(SafetensorsHeaderTest, HeaderNotAnObject) {
  for (const char* text : {"[]", "3", "\"tensors\"", "null"}) {
    EXPECT_TRUE(fails_with(parse(raw_safetensors(text)).status(),
                           {"x.safetensors: header is not a JSON object"}))
        << text;
  }
}

TEST(SafetensorsHeaderTest, HeaderNestedDeeperThanTheSchema) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[[1]],"data_offsets":[0,4])"),
                         {"x.safetensors: header is nested deeper than the safetensors schema"}));
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  EXPECT_TRUE(fails_with(parse(raw_safetensors("{\"t\":" + deep + "}")).status(),
                         {"header is nested deeper"}));
}

TEST(SafetensorsHeaderTest, DuplicateKeyIsRefused) {
  std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  EXPECT_TRUE(
      fails_with(parse(raw_safetensors("{\"t\":" + entry + ",\"t\":" + entry + "}", 4)).status(),
                 {"x.safetensors: header has the key \"t\" twice"}));
  EXPECT_TRUE(
      fails_with(parse_entry(R"("dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4])"),
                 {"header has the key \"dtype\" twice"}));
}

// A header of `n` empty tensors "t0000000", "t0000001", ...
std::string many_tensors(int n) {
  std::string text = "{";
  char name[16];
  for (int i = 0; i < n; ++i) {
    std::snprintf(name, sizeof(name), "t%07d", i);
    if (i > 0) text += ',';
    text.append("\"").append(name).append(R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]})");
  }
  return text + "}";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Parsing once took time quadratic in the number of tensors (30k: 7.9 s, so
// 100k some 90 s). The bounds leave room for a loaded machine.
TEST(SafetensorsHeaderTest, ManyTensorsParseInLinearTime) {
  const std::string bytes = raw_safetensors(many_tensors(100000));
  const auto start = std::chrono::steady_clock::now();
  Result<SafetensorsHeader> h = parse(bytes);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->tensors.size(), 100000u);
  EXPECT_LT(seconds_since(start), 10.0);
}

TEST(SafetensorsHeaderTest, MoreTensorsThanTheLimitAreRefusedQuickly) {
  const std::string bytes = raw_safetensors(many_tensors(1000000));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      fails_with(parse(bytes).status(), {"x.safetensors: header lists more than 131072 tensors"}));
  EXPECT_LT(seconds_since(start), 10.0);  // quadratic: hours
}

TEST(SafetensorsHeaderTest, EntryMustBeAnObjectOfTheSchema) {
  EXPECT_TRUE(fails_with(parse(raw_safetensors(R"({"t":[1,2]})")).status(),
                         {"x.safetensors: tensor \"t\": entry must be an object"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1)"),
                         {"tensor \"t\": unexpected field \"x\" (expected: dtype, shape, "
                          "data_offsets)"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("shape":[1],"data_offsets":[0,4])"),
                         {"tensor \"t\": \"dtype\" is missing"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","data_offsets":[0,4])"),
                         {"tensor \"t\": \"shape\" is missing"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[1])"),
                         {"tensor \"t\": \"data_offsets\" is missing"}));
}

TEST(SafetensorsHeaderTest, BadDtypeIsNamed) {
  for (const char* dtype : {"F64", "I64", "U8", "BOOL", "F8_E4M3", "f32", ""}) {
    EXPECT_TRUE(fails_with(
        parse_entry(std::string("\"dtype\":\"") + dtype + R"(","shape":[1],"data_offsets":[0,4])"),
        {std::string("x.safetensors: tensor \"t\": dtype \"") + dtype +
         "\" is not supported (supported: F32, F16, BF16, I32)"}));
  }
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":4,"shape":[1],"data_offsets":[0,4])"),
                         {"tensor \"t\": \"dtype\" must be a string"}));
}

TEST(SafetensorsHeaderTest, BadShapeIsNamed) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":"1","data_offsets":[0,4])"),
                         {"tensor \"t\": \"shape\" must be a list of integers"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":{"n":1},"data_offsets":[0,4])"),
                         {"tensor \"t\": \"shape\" must be a list of integers"}));
  for (const char* dim : {"-1", "1.5", "1.0", "\"1\"", "null", "true", "9223372036854775808"}) {
    EXPECT_TRUE(fails_with(
        parse_entry(std::string(R"("dtype":"F32","shape":[)") + dim + R"(],"data_offsets":[0,4])"),
        {"tensor \"t\": \"shape\" must hold non-negative integers, got "}))
        << dim;
  }
}

TEST(SafetensorsHeaderTest, BadDataOffsetsTypesAreNamed) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[1],"data_offsets":"0,4")"),
                         {"tensor \"t\": \"data_offsets\" must be a list of integers"}));
  for (const char* offsets : {"[0]", "[]", "[0,4,8]"}) {
    EXPECT_TRUE(fails_with(
        parse_entry(std::string(R"("dtype":"F32","shape":[1],"data_offsets":)") + offsets),
        {"tensor \"t\": \"data_offsets\" must be [begin, end]"}))
        << offsets;
  }
  for (const char* offsets : {"[-4,0]", "[0,4.0]", "[\"0\",4]", "[0,null]"}) {
    EXPECT_TRUE(fails_with(
        parse_entry(std::string(R"("dtype":"F32","shape":[1],"data_offsets":)") + offsets),
        {"tensor \"t\": \"data_offsets\" must hold non-negative integers"}))
        << offsets;
  }
}

TEST(SafetensorsHeaderTest, OffsetsOutsideTheDataSection) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[1],"data_offsets":[8,4])"),
                         {"tensor \"t\": data_offsets [8, 4] begin after end"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[4],"data_offsets":[0,16])", 12),
                         {"x.safetensors: tensor \"t\": data_offsets [0, 16] outside the data "
                          "section (12 bytes)"}));
  EXPECT_TRUE(
      fails_with(parse_entry(R"("dtype":"F32","shape":[1],)"
                             R"("data_offsets":[18446744073709551612,18446744073709551616])"),
                 {"\"data_offsets\" must hold non-negative integers"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[1],)"
                                     R"("data_offsets":[9223372036854775800,9223372036854775804])"),
                         {"data_offsets [9223372036854775800, 9223372036854775804] outside the "
                          "data section (64 bytes)"}));
}

TEST(SafetensorsHeaderTest, ByteLengthMustEqualDtypeTimesShape) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[3],"data_offsets":[0,8])"),
                         {"x.safetensors: tensor \"t\": data_offsets [0, 8] hold 8 bytes, but F32 "
                          "[3] needs 12"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"BF16","shape":[2,3],"data_offsets":[0,24])"),
                         {"hold 24 bytes, but BF16 [2,3] needs 12"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F16","shape":[0],"data_offsets":[0,2])"),
                         {"hold 2 bytes, but F16 [0] needs 0"}));
}

TEST(SafetensorsHeaderTest, SizeOverflowIsRefused) {
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[4294967296,4294967296],)"
                                     R"("data_offsets":[0,4])"),
                         {"tensor \"t\": shape [4294967296,4294967296]: element count overflows"}));
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[4611686018427387904],)"
                                     R"("data_offsets":[0,4])"),
                         {"tensor \"t\": shape [4611686018427387904]: byte size overflows"}));
  // A zero dimension makes the element count 0, whatever the others are.
  EXPECT_TRUE(fails_with(parse_entry(R"("dtype":"F32","shape":[0,4294967296,4294967296],)"
                                     R"("data_offsets":[0,4])"),
                         {"hold 4 bytes, but F32", "needs 0"}));
}

TEST(SafetensorsHeaderTest, OverlappingTensorsAreRefused) {
  std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  EXPECT_TRUE(fails_with(parse(raw_safetensors(header, 12)).status(),
                         {"x.safetensors: tensor \"b\": data_offsets [4, 12] overlap tensor \"a\" "
                          "[0, 8]"}));
  // The same bytes under two names.
  header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_TRUE(fails_with(parse(raw_safetensors(header, 8)).status(), {"overlap tensor"}));
  // One tensor inside a larger one, with a later tensor between them in name order.
  header = R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]},)"
           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[32,36]},)"
           R"("c":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}})";
  EXPECT_TRUE(fails_with(parse(raw_safetensors(header, 36)).status(),
                         {"tensor \"c\": data_offsets [12, 16] overlap tensor \"a\" [0, 32]"}));
  // Touching is not overlapping.
  header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})";
  EXPECT_TRUE(parse(raw_safetensors(header, 16)).ok());
}

TEST(SafetensorsHeaderTest, MetadataIsReadAndChecked) {
  auto h = parse(raw_safetensors(R"({"__metadata__":{"format":"pt","b":"2"}})"));
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_TRUE(h->tensors.empty());  // __metadata__ is not a tensor
  EXPECT_EQ(h->metadata.size(), 2u);
  EXPECT_TRUE(fails_with(parse(raw_safetensors(R"({"__metadata__":"pt"})")).status(),
                         {"x.safetensors: \"__metadata__\" must be an object"}));
  EXPECT_TRUE(fails_with(parse(raw_safetensors(R"({"__metadata__":{"total":12}})")).status(),
                         {"x.safetensors: \"__metadata__\" entry \"total\" must be a string, got "
                          "12"}));
  EXPECT_TRUE(fails_with(parse(raw_safetensors(R"({"__metadata__":{"a":{"b":"c"}}})")).status(),
                         {"\"__metadata__\" entry \"a\" must be a string, got {\"b\":\"c\"}"}));
}

TEST(SafetensorsHeaderTest, TensorNamesStayOnOneLine) {
  EXPECT_TRUE(fails_with(
      parse(raw_safetensors(R"({"a\nb":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8))
          .status(),
      {"tensor \"a\\nb\": dtype \"F64\" is not supported"}));
  std::string long_name(5000, 'n');
  Status s = parse(raw_safetensors("{\"" + long_name + "\":1}")).status();
  EXPECT_TRUE(fails_with(s, {"...\": entry must be an object"}));
  EXPECT_LT(s.message().size(), 400u);
}

}  // namespace
}  // namespace pdserve::model
