#include "engine/model/checkpoint.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "tests/engine/model/model_test_files.h"

namespace pdserve::model {
namespace {

using nlohmann::json;
using testing::fails_with;
using testing::safetensors_file;
using testing::TempDir;

constexpr const char* kIndex = "model.safetensors.index.json";

std::string index_json(const json& weight_map) {
  return json{{"metadata", {{"total_size", 0}}}, {"weight_map", weight_map}}.dump();
}

// Two shards: a.safetensors holds w1 [2, 3] and w2 [4]; b.safetensors holds w3 [5].
void write_two_shards(const TempDir& dir) {
  dir.write("a.safetensors", safetensors_file({{"w1", {2, 3}}, {"w2", {4}, "BF16"}}));
  dir.write("b.safetensors", safetensors_file({{"w3", {5}}}));
}

json two_shard_map() {
  return {{"w1", "a.safetensors"}, {"w2", "a.safetensors"}, {"w3", "b.safetensors"}};
}

TEST(CheckpointTest, OpensASingleFile) {
  TempDir dir;
  std::string bytes = safetensors_file({{"x", {2, 2}}, {"e", {3}, "F16"}});
  dir.write("model.safetensors", bytes);
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ(c->tensors().size(), 2u);
  EXPECT_EQ(c->tensors()[0].name, "e");  // sorted by name
  const TensorView* x = c->find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->dtype, backend::DType::kF32);
  EXPECT_EQ(x->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(x->numel(), 4);
  EXPECT_EQ(x->nbytes, 16u);
  EXPECT_EQ(x->file, "model.safetensors");
  // x comes first in the data section, right at the end of the header.
  const size_t data_offset = bytes.size() - 16 - 6;
  EXPECT_EQ(std::memcmp(x->data, bytes.data() + data_offset, 16), 0);
  EXPECT_EQ(c->total_bytes(), 22u);
  EXPECT_EQ(c->find("y"), nullptr);
  EXPECT_EQ(c->find(""), nullptr);
}

TEST(CheckpointTest, ViewsStayValidWhenTheCheckpointMoves) {
  TempDir dir;
  std::string bytes = safetensors_file({{"x", {4}}});
  dir.write("model.safetensors", bytes);
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const std::byte* data = c->find("x")->data;
  Checkpoint moved = std::move(c).value();
  ASSERT_NE(moved.find("x"), nullptr);
  EXPECT_EQ(moved.find("x")->data, data);
  EXPECT_EQ(std::memcmp(data, bytes.data() + bytes.size() - 16, 16), 0);
}

TEST(CheckpointTest, OpensTheLlama3Fixture) {
  auto c = Checkpoint::open(testing::fixture_dir("llama3"));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const TensorView* embed = c->find("model.embed_tokens.weight");
  ASSERT_NE(embed, nullptr);
  EXPECT_EQ(embed->shape, (std::vector<int64_t>{512, 64}));
  EXPECT_EQ(embed->dtype, backend::DType::kBF16);
  EXPECT_EQ(embed->nbytes, 512u * 64u * 2u);
}

TEST(CheckpointTest, OpensTheShardedFixtureAsTheIndexSays) {
  const auto dir = testing::fixture_dir("sharded");
  auto c = Checkpoint::open(dir);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  json index = json::parse(testing::read_file(dir / kIndex));
  const json& weight_map = index["weight_map"];
  EXPECT_EQ(c->tensors().size(), weight_map.size());
  for (const auto& [name, shard] : weight_map.items()) {
    const TensorView* t = c->find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->file, shard.get<std::string>()) << name;
  }
  EXPECT_EQ(c->total_bytes(), index["metadata"]["total_size"].get<size_t>());
}

TEST(CheckpointTest, OpensHandWrittenShards) {
  TempDir dir;
  write_two_shards(dir);
  dir.write(kIndex, index_json(two_shard_map()));
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ(c->tensors().size(), 3u);
  EXPECT_EQ(c->find("w2")->file, "a.safetensors");
  EXPECT_EQ(c->find("w2")->dtype, backend::DType::kBF16);
  EXPECT_EQ(c->find("w3")->file, "b.safetensors");
  EXPECT_EQ(c->total_bytes(), 24u + 8u + 20u);
}

TEST(CheckpointTest, IndexWinsOverASingleFile) {
  TempDir dir;
  write_two_shards(dir);
  dir.write(kIndex, index_json(two_shard_map()));
  dir.write("model.safetensors", safetensors_file({{"other", {1}}}));
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->find("other"), nullptr);
  EXPECT_NE(c->find("w1"), nullptr);
}

TEST(CheckpointTest, TensorsOfAShardTheIndexDoesNotListAreNotLoaded) {
  TempDir dir;
  write_two_shards(dir);
  dir.write(kIndex, index_json({{"w1", "a.safetensors"}, {"w3", "b.safetensors"}}));
  auto c = Checkpoint::open(dir.path());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->find("w2"), nullptr);
  EXPECT_EQ(c->tensors().size(), 2u);
}

TEST(CheckpointTest, NoCheckpointFileSaysWhatIsSupported) {
  TempDir dir;
  EXPECT_TRUE(fails_with(
      Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
      {dir.path().string(), ": no model.safetensors or " + std::string(kIndex),
       "(supported: one model.safetensors, or shards listed by " + std::string(kIndex) + ")"}));
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path() / "absent").status(), StatusCode::kNotFound,
                         {"absent: no model.safetensors"}));
}

TEST(CheckpointTest, EmptyOrFolderSingleFileIsRefused) {
  TempDir dir;
  dir.write("model.safetensors", "");
  EXPECT_TRUE(
      fails_with(Checkpoint::open(dir.path()).status(), {"model.safetensors: the file is empty"}));
  std::filesystem::remove(dir.path() / "model.safetensors");
  std::filesystem::create_directory(dir.path() / "model.safetensors");
  EXPECT_TRUE(
      fails_with(Checkpoint::open(dir.path()).status(), {"model.safetensors: not a regular file"}));
}

// Opening a FIFO blocks until a writer comes; the loader must not wait.
TEST(CheckpointTest, FifoIsRefusedWithoutWaiting) {
  TempDir dir;
  ASSERT_EQ(::mkfifo((dir.path() / "model.safetensors").c_str(), 0600), 0);
  EXPECT_TRUE(
      fails_with(Checkpoint::open(dir.path()).status(), {"model.safetensors: not a regular file"}));
  std::filesystem::remove(dir.path() / "model.safetensors");
  write_two_shards(dir);
  std::filesystem::remove(dir.path() / "b.safetensors");
  ASSERT_EQ(::mkfifo((dir.path() / "b.safetensors").c_str(), 0600), 0);
  dir.write(kIndex, index_json(two_shard_map()));
  EXPECT_TRUE(
      fails_with(Checkpoint::open(dir.path()).status(), {"b.safetensors: not a regular file"}));
}

TEST(CheckpointTest, BadHeaderNamesTheFileAndTheTensor) {
  TempDir dir;
  std::string bytes = safetensors_file({{"w", {4}}});
  dir.write("model.safetensors", bytes.substr(0, bytes.size() - 1));  // one byte short
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"model.safetensors: tensor \"w\": data_offsets [0, 16] outside the data "
                          "section (15 bytes)"}));
  dir.write("model.safetensors", bytes.substr(0, 12));  // cut inside the header
  EXPECT_TRUE(
      fails_with(Checkpoint::open(dir.path()).status(), {"model.safetensors: header length",
                                                         "runs past the end of the file (12 "
                                                         "bytes)"}));
}

TEST(CheckpointTest, MissingShardFileIsNamed) {
  TempDir dir;
  dir.copy_fixture("sharded");
  std::filesystem::remove(dir.path() / "model-00003-of-00006.safetensors");
  EXPECT_TRUE(fails_with(
      Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
      {std::string(kIndex) + ": shard \"model-00003-of-00006.safetensors\" (named for tensor "
                             "\"model.layers.",
       "not found in " + dir.path().string()}));
}

TEST(CheckpointTest, WeightMappedToAShardThatDoesNotExist) {
  TempDir dir;
  write_two_shards(dir);
  json map = two_shard_map();
  map["w3"] = "c.safetensors";
  dir.write(kIndex, index_json(map));
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(), StatusCode::kNotFound,
                         {"model.safetensors.index.json: shard \"c.safetensors\" (named for tensor "
                          "\"w3\") not found in "}));
}

TEST(CheckpointTest, TensorListedInTheIndexButAbsentFromItsShard) {
  TempDir dir;
  write_two_shards(dir);
  json map = two_shard_map();
  map["w9"] = "b.safetensors";
  dir.write(kIndex, index_json(map));
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"b.safetensors: tensor \"w9\" is not in this file, but "
                          "model.safetensors.index.json says it is"}));
  // In another shard than the index says.
  map = two_shard_map();
  map["w3"] = "a.safetensors";
  dir.write(kIndex, index_json(map));
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"a.safetensors: tensor \"w3\" is not in this file, but "
                          "model.safetensors.index.json says it is"}));
}

TEST(CheckpointTest, BadShardHeaderNamesTheShard) {
  TempDir dir;
  write_two_shards(dir);
  dir.write(
      "b.safetensors",
      testing::raw_safetensors(R"({"w3":{"dtype":"F64","shape":[5],"data_offsets":[0,40]}})", 40));
  dir.write(kIndex, index_json(two_shard_map()));
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"b.safetensors: tensor \"w3\": dtype \"F64\" is not supported"}));
}

TEST(CheckpointTest, ShardNamesMustStayInTheFolder) {
  TempDir dir;
  write_two_shards(dir);
  for (const json& shard : {json("../a.safetensors"), json("/tmp/a.safetensors"), json("sub/a"),
                            json(""), json(".."), json("a\nb"), json(3), json(nullptr)}) {
    json map = two_shard_map();
    map["w1"] = shard;
    dir.write(kIndex, index_json(map));
    EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                           {"model.safetensors.index.json: tensor \"w1\": shard ",
                            " must be a file name in the checkpoint folder"}))
        << shard.dump();
  }
}

TEST(CheckpointTest, DeeplyNestedShardValueIsRefusedWithAShortExcerpt) {
  TempDir dir;
  write_two_shards(dir);
  const int depth = 1000000;
  dir.write(kIndex,
            "{\"weight_map\":{\"w1\":" + std::string(depth, '[') + std::string(depth, ']') + "}}");
  Status s = Checkpoint::open(dir.path()).status();
  EXPECT_TRUE(fails_with(s, {"tensor \"w1\": shard [[[[[...]]]]] must be a file name"}));
  EXPECT_LT(s.message().size(), 200u);
}

TEST(CheckpointTest, BadIndexIsRefused) {
  TempDir dir;
  write_two_shards(dir);
  dir.write(kIndex, "{\"weight_map\": ");
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"model.safetensors.index.json: invalid JSON: "}));
  for (const char* text :
       {"[]", "{}", R"({"weight_map": ["a.safetensors"]})", R"({"weight_map": null})"}) {
    dir.write(kIndex, text);
    EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                           {"model.safetensors.index.json: must be an object with a "
                            "\"weight_map\" object"}))
        << text;
  }
  dir.write(kIndex, R"({"weight_map": {}})");
  EXPECT_TRUE(fails_with(Checkpoint::open(dir.path()).status(),
                         {"model.safetensors.index.json: \"weight_map\" is empty"}));
}

}  // namespace
}  // namespace pdserve::model
