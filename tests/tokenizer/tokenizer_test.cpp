// Hand-built tokenizer.json files whose ids are worked out by hand from the
// BPE, added-token, Metaspace and Split rules of Hugging Face tokenizers.
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "tests/tokenizer/tokenizer_test_util.h"

namespace pdserve::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

const char* kByteLevel = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})";

TEST(Tokenizer, ByteLevelBpeMergesByRank) {
  const std::string vocab = R"({"a":0,"b":1,"c":2,"Ġ":3,"ab":4,"abc":5,"Ġa":6})";
  for (const char* merges : {R"(["a b","ab c","Ġ a"])", R"([["a","b"],["ab","c"],["Ġ","a"]])"}) {
    auto t = load_or_die(tokenizer_json(bpe_model(vocab, merges), "[]", "null", kByteLevel, "null",
                                        R"({"type":"ByteLevel"})"));
    ASSERT_NE(t, nullptr);
    // "abc" -> a b c -> ab c -> abc; " ab" -> Ġ a b: (a,b) ranks before (Ġ,a) -> Ġ ab.
    EXPECT_EQ(enc(*t, "abc ab"), (Ids{5, 3, 4}));
    EXPECT_EQ(dec(*t, {5, 3, 4}), "abc ab");
    EXPECT_EQ(enc(*t, " a"), (Ids{6}));
    EXPECT_EQ(t->vocab_size(), 7);
    EXPECT_EQ(t->token_to_id("Ġa"), 6);
    EXPECT_EQ(t->id_to_token(4), "ab");
    EXPECT_EQ(t->id_to_token(7), std::nullopt);
  }
}

TEST(Tokenizer, IgnoreMergesTakesWholeWordsFromTheVocab) {
  // "abc" is in the vocab but no merge chain makes it (only "a b").
  const std::string vocab = R"({"a":0,"b":1,"c":2,"ab":3,"abc":4})";
  auto plain = load_or_die(tokenizer_json(bpe_model(vocab, R"(["a b"])")));
  auto ignore =
      load_or_die(tokenizer_json(bpe_model(vocab, R"(["a b"])", R"("ignore_merges":true,)")));
  EXPECT_EQ(enc(*plain, "abc"), (Ids{3, 2}));
  EXPECT_EQ(enc(*ignore, "abc"), (Ids{4}));
}

std::string sentencepiece(bool fuse_unk) {
  const std::string vocab =
      R"({"<unk>":0,"<s>":1,"</s>":2,"<0xE4>":3,"<0xB8>":4,"<0xAD>":5,"▁":6,"h":7,"i":8,"▁h":9,"▁hi":10})";
  return tokenizer_json(
      bpe_model(vocab, R"(["▁ h","▁h i"])",
                std::string(R"("unk_token":"<unk>","byte_fallback":true,)") +
                    (fuse_unk ? R"("fuse_unk":true,)" : R"("fuse_unk":false,)")),
      R"([{"id":0,"content":"<unk>","special":true,"normalized":false},
          {"id":1,"content":"<s>","special":true,"normalized":false},
          {"id":2,"content":"</s>","special":true,"normalized":false}])",
      R"({"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
          {"type":"Replace","pattern":{"String":" "},"content":"▁"}]})",
      "null",
      R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},
          {"Sequence":{"id":"A","type_id":0}}],"pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}})",
      R"({"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
          {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]})");
}

TEST(Tokenizer, SentencePieceStyleByteFallbackAndTemplate) {
  // Dicts in these JSON strings are duplicated keys-free, so the fields above override defaults.
  auto t = load_or_die(sentencepiece(true));
  ASSERT_NE(t, nullptr);
  // "hi 中" -> "▁hi▁中": ▁ h i ▁ <0xE4> <0xB8> <0xAD> -> ▁h -> ▁hi.
  EXPECT_EQ(enc(*t, "hi 中"), (Ids{1, 10, 6, 3, 4, 5}));
  EXPECT_EQ(enc(*t, "hi 中", {.add_special_tokens = false}), (Ids{10, 6, 3, 4, 5}));
  EXPECT_EQ(dec(*t, {1, 10, 6, 3, 4, 5}), "<s> hi 中");
  EXPECT_EQ(dec(*t, {1, 10, 6, 3, 4, 5}, true), "hi 中");
  // A lone continuation byte is not UTF-8: one U+FFFD per byte.
  EXPECT_EQ(dec(*t, {4, 5}), "\xEF\xBF\xBD\xEF\xBF\xBD");
  // Unknown characters (no byte token for 'q'): fused into one <unk>, or one each.
  EXPECT_EQ(enc(*t, "hqq", {.add_special_tokens = false}), (Ids{9, 0}));
  auto unfused = load_or_die(sentencepiece(false));
  EXPECT_EQ(enc(*unfused, "hqq", {.add_special_tokens = false}), (Ids{9, 0, 0}));
  // The normalizer runs per piece between added tokens: "<s>" splits, then "▁h".
  EXPECT_EQ(enc(*t, "<s>h", {.add_special_tokens = false}), (Ids{1, 9}));
  EXPECT_TRUE(t->is_special(1));
  EXPECT_FALSE(t->is_special(9));
}

std::string char_level(const std::string& pre_tokenizer) {
  return tokenizer_json(
      bpe_model(R"({"a":0,"b":1," ":2,"<":3,">":4,"x":5,"|":6})", "[]"),
      R"([{"id":7,"content":"<x>","special":true,"lstrip":true,"normalized":false},
          {"id":8,"content":"ab","special":false,"single_word":true,"normalized":false},
          {"id":9,"content":"<b>","special":true,"rstrip":true,"normalized":false}])",
      "null", pre_tokenizer);
}

TEST(Tokenizer, AddedTokensHonourStripAndSingleWord) {
  auto t = load_or_die(char_level("null"));
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(enc(*t, "a <x>b"), (Ids{0, 7, 1}));  // lstrip eats the space
  EXPECT_EQ(enc(*t, "<b>  a"), (Ids{9, 0}));     // rstrip eats both spaces
  EXPECT_EQ(enc(*t, "ab ab"), (Ids{8, 2, 8}));   // single words
  EXPECT_EQ(enc(*t, "aab"), (Ids{0, 0, 1}));     // inside a word: not the token
  EXPECT_EQ(enc(*t, "ab>"), (Ids{8, 4}));        // '>' is not a word character
  // split_special_tokens: special strings are text; non-special added tokens still match.
  EXPECT_EQ(enc(*t, "a <x>b", {.split_special_tokens = true}), (Ids{0, 2, 3, 5, 4, 1}));
  EXPECT_EQ(enc(*t, "ab <b>", {.split_special_tokens = true}), (Ids{8, 2, 3, 1, 4}));
  EXPECT_EQ(t->vocab_size(), 10);
  EXPECT_TRUE(t->is_special(7));
  EXPECT_FALSE(t->is_special(8));
  EXPECT_EQ(t->token_to_id("<x>"), 7);
  EXPECT_EQ(t->id_to_token(8), "ab");
  // No decoder: tokens joined by spaces; skip_special drops 7.
  EXPECT_EQ(dec(*t, {0, 7, 1}), "a <x> b");
  EXPECT_EQ(dec(*t, {0, 7, 1}, true), "a b");
}

std::string metaspace(const char* scheme, bool split) {
  return tokenizer_json(bpe_model(R"({"▁":0,"a":1,"b":2,"<s>":3})", "[]"),
                        R"([{"id":3,"content":"<s>","special":true,"normalized":false}])", "null",
                        std::string(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":")") +
                            scheme + R"(","split":)" + (split ? "true" : "false") + "}",
                        "null",
                        std::string(R"({"type":"Metaspace","replacement":"▁","prepend_scheme":")") +
                            scheme + R"(","split":true})");
}

TEST(Tokenizer, MetaspacePrependSchemes) {
  auto first = load_or_die(metaspace("first", true));
  auto always = load_or_die(metaspace("always", true));
  auto never = load_or_die(metaspace("never", true));
  ASSERT_TRUE(first && always && never);
  EXPECT_EQ(enc(*first, "a b"), (Ids{0, 1, 0, 2}));
  EXPECT_EQ(enc(*first, "<s>a"), (Ids{3, 1}));  // not the text's start: no ▁
  EXPECT_EQ(enc(*always, "<s>a"), (Ids{3, 0, 1}));
  EXPECT_EQ(enc(*never, "a b"), (Ids{1, 0, 2}));
  // Decoder: the first token loses its ▁ (scheme not "never"), later ones become spaces.
  EXPECT_EQ(dec(*first, {0, 1, 0, 2}), "a b");
  EXPECT_EQ(dec(*never, {0, 1, 0, 2}), " a b");
}

std::string split_with(const char* behavior) {
  return tokenizer_json(bpe_model(R"({"a":0,"-":1,"a-":2,"-a":3})", R"(["a -","- a"])"), "[]",
                        "null",
                        std::string(R"({"type":"Split","pattern":{"String":"-"},"behavior":")") +
                            behavior + R"(","invert":false})");
}

TEST(Tokenizer, SplitBehaviours) {
  const std::pair<const char*, Ids> cases[] = {
      {"Isolated", {0, 1, 0}},    {"Removed", {0, 0}},       {"MergedWithPrevious", {2, 0}},
      {"MergedWithNext", {0, 3}}, {"Contiguous", {0, 1, 0}},
  };
  for (const auto& [behavior, want] : cases) {
    auto t = load_or_die(split_with(behavior));
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(enc(*t, "a-a"), want) << behavior;
  }
  // No pre-tokenizer: one piece, and (a,-) ranks first.
  auto whole =
      load_or_die(tokenizer_json(bpe_model(R"({"a":0,"-":1,"a-":2,"-a":3})", R"(["a -","- a"])")));
  EXPECT_EQ(enc(*whole, "a-a"), (Ids{2, 0}));
}

TEST(Tokenizer, EncodeRejectsInvalidUtf8) {
  auto t = load_or_die(char_level("null"));
  for (const char* bad : {"a\xff", "\xc3", "\xed\xa0\x80", "\xc0\xaf"}) {
    auto ids = t->encode(bad);
    ASSERT_FALSE(ids.ok());
    EXPECT_EQ(ids.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(ids.status().message(), "text is not valid UTF-8");
  }
  EXPECT_EQ(enc(*t, ""), Ids{});
}

TEST(Tokenizer, DecodeRejectsIdsOutOfRange) {
  auto t = load_or_die(char_level("null"));
  for (int32_t id : {10, -1, 1 << 30}) {
    auto s = t->decode(std::vector<int32_t>{0, id});
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(s.status().message(), "token id " + std::to_string(id) + " is out of range");
  }
}

}  // namespace
}  // namespace pdserve::tokenizer
