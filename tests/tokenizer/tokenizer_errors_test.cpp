// Bad tokenizer.json files: each is refused with one line naming the problem.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "tests/tokenizer/tokenizer_test_util.h"
#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {
namespace {

const std::string kVocab = R"({"a":0,"b":1,"ab":2})";
const std::string kModel = bpe_model(kVocab, R"(["a b"])");

std::string error_of(const std::string& json) {
  auto t = Tokenizer::from_json(json);
  if (t.ok()) return "<loaded>";
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument) << t.status().to_string();
  return t.status().message();
}

TEST(TokenizerErrors, MalformedJsonAndStructure) {
  EXPECT_EQ(error_of("{").rfind("tokenizer.json: malformed JSON: ", 0), 0u) << error_of("{");
  EXPECT_EQ(error_of("[1,2]"), "tokenizer.json: the top level must be an object");
  EXPECT_EQ(error_of("{}"), "tokenizer.json: no 'model'");
  EXPECT_EQ(error_of(tokenizer_json(R"({"type":"Unigram","vocab":[]})")),
            "tokenizer.json: unsupported model type 'Unigram' (supported: BPE)");
  EXPECT_EQ(error_of(tokenizer_json(R"({"type":"BPE","vocab":[1],"merges":[]})")),
            "tokenizer.json: model.vocab must be an object");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(R"({"a":-1})", "[]"))),
            "tokenizer.json: model.vocab['a'] must be an integer id in [0, 2^31)");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(R"({"a":"x"})", "[]"))),
            "tokenizer.json: model.vocab['a'] must be an integer id in [0, 2^31)");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(R"({"a":2000000000,"b":1})", "[]"))),
            "tokenizer.json: token ids are too sparse (highest id 2000000000 for 2 tokens)");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, "{}"))),
            "tokenizer.json: model.merges must be an array");
  EXPECT_EQ(error_of(R"({"truncation":{"max_length":5},"model":)" + kModel + "}"),
            "tokenizer.json: truncation is not supported (set it to null)");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, "[]", R"("dropout":0.1,)"))),
            "tokenizer.json: BPE dropout is not supported (not deterministic)");
}

TEST(TokenizerErrors, Merges) {
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, R"(["a q"])"))),
            "tokenizer.json: merge 0 names token 'q' that is not in the vocabulary");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, R"(["a b","b a"])"))),
            "tokenizer.json: merge 1 makes token 'ba' that is not in the vocabulary");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, R"(["ab"])"))),
            "tokenizer.json: merge 0 'ab' is not two tokens separated by one space");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, R"([["a"]])"))),
            "tokenizer.json: merge 0 must be \"a b\" or [\"a\", \"b\"]");
  EXPECT_EQ(error_of(tokenizer_json(bpe_model(kVocab, R"([1])"))),
            "tokenizer.json: merge 0 must be \"a b\" or [\"a\", \"b\"]");
}

TEST(TokenizerErrors, UnknownComponentsAreRefusedByName) {
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", R"({"type":"Lowercase"})")),
            "tokenizer.json: unsupported normalizer type 'Lowercase' (supported: Sequence, "
            "Prepend, Replace, Strip, NFC, NFD, NFKC, NFKD)");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", "null", R"({"type":"Punctuation"})")),
            "tokenizer.json: unsupported pre_tokenizer type 'Punctuation' (supported: Sequence, "
            "ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit)");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", "null", "null", R"({"type":"Foo"})")),
            "tokenizer.json: unsupported post_processor type 'Foo' (supported: "
            "TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)");
  EXPECT_EQ(
      error_of(tokenizer_json(kModel, "[]", "null", "null", "null", R"({"type":"WordPiece"})")),
      "tokenizer.json: unsupported decoder type 'WordPiece' (supported: Sequence, "
      "ByteLevel, ByteFallback, Fuse, Metaspace, Replace, Strip)");
  // Unknown types inside a Sequence are refused too.
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", "null",
                                    R"({"type":"Sequence","pretokenizers":[{"type":"X"}]})")),
            "tokenizer.json: unsupported pre_tokenizer type 'X' (supported: Sequence, "
            "ByteLevel, Metaspace, Split, Digits, Whitespace, WhitespaceSplit)");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", R"({"notype":1})")),
            "tokenizer.json: normalizer.type is missing");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", "null", "null", "null", R"("x")")),
            "tokenizer.json: decoder must be an object");
}

TEST(TokenizerErrors, ComponentFields) {
  const std::string bad_regex = error_of(tokenizer_json(
      kModel, "[]", "null",
      R"({"type":"Split","pattern":{"Regex":"("},"behavior":"Isolated","invert":false})"));
  EXPECT_EQ(bad_regex.rfind("tokenizer.json: pre_tokenizer Split: regex '(' does not compile", 0),
            0u)
      << bad_regex;
  EXPECT_EQ(
      error_of(tokenizer_json(
          kModel, "[]", "null",
          R"({"type":"Split","pattern":{"String":"-"},"behavior":"Sideways","invert":false})")),
      "tokenizer.json: unsupported Split behavior 'Sideways'");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", "null",
                                    R"({"type":"Split","pattern":"-","behavior":"Isolated"})")),
            "tokenizer.json: pre_tokenizer Split.pattern must be {\"String\": ...} or "
            "{\"Regex\": ...}");
  EXPECT_EQ(error_of(tokenizer_json(
                kModel, "[]", "null",
                R"({"type":"Metaspace","replacement":"▁","prepend_scheme":"sometimes"})")),
            "tokenizer.json: pre_tokenizer Metaspace.prepend_scheme 'sometimes' is not always, "
            "first or never");
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", R"({"type":"Prepend","prepend":3})")),
            "tokenizer.json: normalizer.prepend must be a string, got 3");
  EXPECT_EQ(
      error_of(tokenizer_json(
          kModel, "[]", "null", "null",
          R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}}],"special_tokens":{}})")),
      "tokenizer.json: post_processor TemplateProcessing: special token '<s>' is not in "
      "special_tokens");
  EXPECT_EQ(
      error_of(tokenizer_json(
          kModel, "[]", "null", "null",
          R"({"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}}],"special_tokens":{"<s>":{"id":"<s>","ids":[99],"tokens":["<s>"]}}})")),
      "tokenizer.json: post_processor uses token id 99 that is not in the vocabulary");
}

TEST(TokenizerErrors, DeepNestingIsRefused) {
  std::string normalizer, close;
  for (int i = 0; i < 40; ++i) {
    normalizer += R"({"type":"Sequence","normalizers":[)";
    close += "]}";
  }
  EXPECT_EQ(error_of(tokenizer_json(kModel, "[]", normalizer + R"({"type":"NFC"})" + close)),
            "tokenizer.json: normalizer Sequences nest deeper than 32");
}

TEST(TokenizerErrors, AddedTokens) {
  EXPECT_EQ(error_of(tokenizer_json(kModel, R"({"id":3})")),
            "tokenizer.json: added_tokens must be an array");
  EXPECT_EQ(error_of(tokenizer_json(kModel, R"([{"id":3,"content":7}])")),
            "tokenizer.json: added_tokens[0].content must be a string");
  EXPECT_EQ(error_of(tokenizer_json(kModel, R"([{"content":"<s>"}])")),
            "tokenizer.json: added_tokens[0] has no 'id'");
  EXPECT_EQ(error_of(tokenizer_json(kModel, R"([{"id":3,"content":"<s>","special":"yes"}])")),
            "tokenizer.json: added_tokens[0].special must be a boolean, got \"yes\"");
}

TEST(TokenizerErrors, MissingFileIsNotFound) {
  auto t = Tokenizer::from_file("/nonexistent/tokenizer.json");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(t.status().message(), "/nonexistent/tokenizer.json: file not found");
}

// A tokenizer.json that is a device or a FIFO is refused at once, unread
// (/dev/zero once took 4 GB; a FIFO with no writer would block forever).
TEST(TokenizerErrors, SpecialFilesAreRefusedUnread) {
  const auto start = std::chrono::steady_clock::now();
  auto zero = Tokenizer::from_file("/dev/zero");
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.status().message().find("not a regular file"), std::string::npos)
      << zero.status().to_string();
  const std::string fifo =
      (std::filesystem::temp_directory_path() / ("tokenizer_fifo_" + std::to_string(::getpid())))
          .string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto piped = Tokenizer::from_file(fifo);
  std::filesystem::remove(fifo);
  ASSERT_FALSE(piped.ok());
  EXPECT_NE(piped.status().message().find("not a regular file"), std::string::npos)
      << piped.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(TokenizerErrors, UnknownTokenNotInVocabularyFailsAtEncode) {
  auto t = load_or_die(tokenizer_json(bpe_model(kVocab, "[]", R"("unk_token":"<unk>",)")));
  ASSERT_NE(t, nullptr);
  auto ids = t->encode("az");
  ASSERT_FALSE(ids.ok());
  EXPECT_EQ(ids.status().message(), "unk_token '<unk>' is not in the vocabulary");
}

}  // namespace
}  // namespace pdserve::tokenizer
