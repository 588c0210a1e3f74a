// Internal pieces: UTF-8 helpers, Unicode normalization, the Llama 3 split regex.
#include <gtest/gtest.h>

#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode_normalization.h"
#include "tokenizer/utf8.h"

namespace pdserve::tokenizer {
namespace {

TEST(Utf8, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("a\xF0\x9F\x98"), "a\xEF\xBF\xBD");  // truncated: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xE2\x82"
                       "A"),
            "\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(utf8_lossy("\x80\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // one per stray byte
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_lossy("é€😀"), "é€😀");
  EXPECT_TRUE(is_valid_utf8("é€😀"));
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
}

TEST(UnicodeNormalization, Forms) {
  EXPECT_EQ(unicode_normalize("e\u0301", false, true), "\u00e9");             // NFC
  EXPECT_EQ(unicode_normalize("\u00e9", false, false), "e\u0301");            // NFD
  EXPECT_EQ(unicode_normalize("\ufb01", true, true), "fi");                   // NFKC
  EXPECT_EQ(unicode_normalize("\u1100\u1161\u11a8", false, true), "\uac01");  // Hangul LVT
  EXPECT_EQ(unicode_normalize("\uac01", false, false), "\u1100\u1161\u11a8");
  // Canonical reordering: dot below (220) before circumflex (230), then composed.
  EXPECT_EQ(unicode_normalize("o\u0302\u0323", false, true), "\u1ed9");
  EXPECT_EQ(unicode_normalize("\u212b", false, true), "\u00c5");  // singleton: Angstrom sign
  EXPECT_EQ(unicode_normalize("plain ascii", false, true), "plain ascii");
  // NFC works region by region: only the parts around unstable characters change.
  EXPECT_EQ(unicode_normalize("abc e\u0301 \u4e2d\u6587 o\u0302\u0323x \u1100\u1161!", false, true),
            "abc \u00e9 \u4e2d\u6587 \u1ed9x \uac00!");
  EXPECT_EQ(unicode_normalize("\u0301a", false, true), "\u0301a");            // leading mark stays
  EXPECT_EQ(unicode_normalize("\u00c0\u0301", false, true), "\u00c0\u0301");  // blocked
}

TEST(PreTokenizers, Llama3SplitRegex) {
  auto regex = Regex::compile(
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)");
  ASSERT_TRUE(regex.ok()) << regex.status().to_string();
  SplitPreTokenizer split("", std::move(regex).value(), SplitBehavior::kIsolated, false);
  std::vector<Piece> pieces = {{"I'm 12345 héllo\n\n  x", true}};
  ASSERT_TRUE(split.pre_tokenize(pieces).ok());
  std::vector<std::string> texts;
  for (const Piece& p : pieces) texts.push_back(p.text);
  EXPECT_EQ(texts,
            (std::vector<std::string>{"I", "'m", " ", "123", "45", " héllo", "\n\n", " ", " x"}));
  EXPECT_TRUE(pieces[0].at_start);
  EXPECT_FALSE(pieces[1].at_start);
}

}  // namespace
}  // namespace pdserve::tokenizer
