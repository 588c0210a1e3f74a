// IncrementalDecoder: for random id sequences over every fixture tokenizer
// (byte-level and SentencePiece-style, special and byte tokens included), the
// pieces are valid UTF-8 and concatenate to decode(all ids).
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "tests/tokenizer/tokenizer_test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> tokenizer_paths() {
  std::vector<std::string> paths = {std::string(PDSERVE_SOURCE_DIR) +
                                    "/models/pdserve-demo/tokenizer.json"};
  const fs::path dir = fs::path(PDSERVE_SOURCE_DIR) / "tests/fixtures/tokenizers";
  if (fs::is_directory(dir)) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (fs::exists(e.path() / "tokenizer.json")) {
        paths.push_back((e.path() / "tokenizer.json").string());
      }
    }
  }
  return paths;
}

void check_stream(const Tokenizer& t, const std::vector<int32_t>& ids, bool skip) {
  IncrementalDecoder stream(t, skip);
  std::string all;
  for (int32_t id : ids) {
    auto piece = stream.push(id);
    ASSERT_TRUE(piece.ok()) << piece.status().to_string();
    ASSERT_TRUE(is_valid_utf8(*piece));
    all += *piece;
  }
  const std::string rest = stream.flush();
  ASSERT_TRUE(is_valid_utf8(rest));
  all += rest;
  auto want = t.decode(ids, skip);
  ASSERT_TRUE(want.ok());
  ASSERT_EQ(all, *want) << "skip=" << skip << " over " << ids.size() << " ids";
}

TEST(IncrementalDecoder, RandomIdsConcatenateToDecode) {
  const auto paths = tokenizer_paths();
  ASSERT_GE(paths.size(), 1u);
  std::mt19937 rng(1234);
  for (const std::string& path : paths) {
    SCOPED_TRACE(path);
    auto t = Tokenizer::from_file(path);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    const int n = (*t)->vocab_size();
    // Ids drawn from the whole vocabulary, from the low ids (special and byte tokens), and
    // from a small set so that byte sequences and repeats are likely.
    for (int round = 0; round < 300; ++round) {
      std::vector<int32_t> ids(1 + rng() % 40);
      for (int32_t& id : ids) {
        const int kind = static_cast<int>(rng() % 3);
        id = kind == 0   ? static_cast<int32_t>(rng() % n)
             : kind == 1 ? static_cast<int32_t>(rng() % std::min(n, 300))
                         : static_cast<int32_t>(rng() % 8);
      }
      check_stream(**t, ids, false);
      check_stream(**t, ids, true);
    }
  }
}

TEST(IncrementalDecoder, TrailingStripAndNoDecoder) {
  // Strip with stop > 0 after Fuse changes the text's end; no decoder joins with spaces.
  const std::string vocab = R"({"<s>":0,"<0xC3>":1,"<0xA9>":2,"▁":3,"a":4,"▁a":5})";
  const std::string added = R"([{"id":0,"content":"<s>","special":true,"normalized":false}])";
  const char* decoders[] = {
      R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
          {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":1}]})",
      R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"always","split":true})", "null"};
  std::mt19937 rng(99);
  for (const char* decoder : decoders) {
    auto t =
        load_or_die(tokenizer_json(bpe_model(vocab, "[]"), added, "null", "null", "null", decoder));
    ASSERT_NE(t, nullptr);
    for (int round = 0; round < 500; ++round) {
      std::vector<int32_t> ids(1 + rng() % 12);
      for (int32_t& id : ids) id = static_cast<int32_t>(rng() % 6);
      check_stream(*t, ids, false);
      check_stream(*t, ids, true);
    }
  }
}

TEST(IncrementalDecoder, StreamsEncodedText) {
  for (const std::string& path : tokenizer_paths()) {
    SCOPED_TRACE(path);
    auto t = Tokenizer::from_file(path);
    ASSERT_TRUE(t.ok());
    for (const char* text :
         {"Hello world, this is a test.", "  leading spaces and\ttabs\n\n",
          "中文和日本語 😀👨‍👩‍👧 café", "<s>hi</s> <|endoftext|>x"}) {
      auto ids = (*t)->encode(text);
      ASSERT_TRUE(ids.ok());
      check_stream(**t, *ids, false);
      check_stream(**t, *ids, true);
    }
  }
}

TEST(IncrementalDecoder, HoldsBackAnUnfinishedCharacter) {
  auto t =
      Tokenizer::from_file(std::string(PDSERVE_SOURCE_DIR) + "/models/pdserve-demo/tokenizer.json");
  ASSERT_TRUE(t.ok());
  // "😀" is 4 bytes, more than one byte-level token here.
  auto emoji = (*t)->encode("😀", {.add_special_tokens = false});
  ASSERT_TRUE(emoji.ok());
  ASSERT_GT(emoji->size(), 1u);
  IncrementalDecoder stream(**t);
  std::string out;
  for (size_t i = 0; i < emoji->size(); ++i) {
    auto piece = stream.push((*emoji)[i]);
    ASSERT_TRUE(piece.ok());
    if (i + 1 < emoji->size()) {
      EXPECT_EQ(*piece, "") << "partial character leaked at " << i;
    }
    out += *piece;
  }
  EXPECT_EQ(out + stream.flush(), "😀");
  auto bad = stream.push(1 << 30);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace pdserve::tokenizer
