// Components the parity fixtures do not cover, checked by hand: Whitespace,
// WhitespaceSplit, Digits, inverted Split, Replace with a regex, Strip,
// ByteLevel with add_prefix_space, BertProcessing.
#include <gtest/gtest.h>

#include "tests/tokenizer/tokenizer_test_util.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"

namespace pdserve::tokenizer {
namespace {

using Texts = std::vector<std::string>;

Texts run(const PreTokenizer& p, const std::string& text) {
  std::vector<Piece> pieces = {{text, true}};
  EXPECT_TRUE(p.pre_tokenize(pieces).ok());
  Texts out;
  for (const Piece& piece : pieces) out.push_back(piece.text);
  return out;
}

std::unique_ptr<Regex> re(const char* pattern) {
  auto r = Regex::compile(pattern);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return std::move(r).value();
}

TEST(Components, WhitespaceAndWhitespaceSplit) {
  RegexPreTokenizer whitespace(re("\\w+|[^\\w\\s]+"), SplitBehavior::kRemoved, true);
  EXPECT_EQ(run(whitespace, "Hello, world!  x_y"), (Texts{"Hello", ",", "world", "!", "x_y"}));
  WhitespaceSplitPreTokenizer split;
  EXPECT_EQ(run(split, "a  b\tc\n\u3000d"), (Texts{"a", "b", "c", "d"}));
}

TEST(Components, DigitsAndInvertedSplit) {
  RegexPreTokenizer individual(re("\\p{N}"), SplitBehavior::kIsolated, false);
  RegexPreTokenizer grouped(re("\\p{N}+"), SplitBehavior::kIsolated, false);
  EXPECT_EQ(run(individual, "ab123c"), (Texts{"ab", "1", "2", "3", "c"}));
  EXPECT_EQ(run(grouped, "ab123c"), (Texts{"ab", "123", "c"}));
  SplitPreTokenizer keep_digits("", re("\\d+"), SplitBehavior::kRemoved, true);
  EXPECT_EQ(run(keep_digits, "a12b3"), (Texts{"12", "3"}));
  SplitPreTokenizer contiguous("", re("-"), SplitBehavior::kContiguous, false);
  EXPECT_EQ(run(contiguous, "a--b-"), (Texts{"a", "--", "b", "-"}));
}

TEST(Components, ReplaceRegexAndStripNormalizers) {
  ReplaceNormalizer spaces("", re(" {2,}"), " ");
  std::string s = "a   b  c d";
  ASSERT_TRUE(spaces.normalize(s).ok());
  EXPECT_EQ(s, "a b c d");
  StripNormalizer both(true, true), left(true, false);
  std::string t = " \t a b \u3000", u = t;
  ASSERT_TRUE(both.normalize(t).ok());
  ASSERT_TRUE(left.normalize(u).ok());
  EXPECT_EQ(t, "a b");
  EXPECT_EQ(u, "a b \u3000");
}

TEST(Components, ByteLevelAddPrefixSpaceAndBertProcessing) {
  auto t = load_or_die(tokenizer_json(
      bpe_model(R"({"a":0,"b":1,"c":2,"Ġ":3,"ab":4,"abc":5,"Ġa":6})", R"(["a b","ab c","Ġ a"])"),
      "[]", "null", R"({"type":"ByteLevel","add_prefix_space":true,"use_regex":true})",
      R"({"type":"BertProcessing","sep":["b",1],"cls":["c",2]})", R"({"type":"ByteLevel"})"));
  ASSERT_NE(t, nullptr);
  // "abc" -> " abc" -> Ġ a b c: (a,b) then (ab,c) -> Ġ abc.
  EXPECT_EQ(enc(*t, "abc"), (std::vector<int32_t>{2, 3, 5, 1}));
  EXPECT_EQ(enc(*t, "abc", {.add_special_tokens = false}), (std::vector<int32_t>{3, 5}));
  EXPECT_EQ(dec(*t, {3, 5}), " abc");  // the ByteLevel decoder keeps the prefix space
}

}  // namespace
}  // namespace pdserve::tokenizer
