#include "router/stop_matcher.h"

#include <gtest/gtest.h>

#include <random>

namespace pdserve::router {
namespace {

// Feeds the pieces; returns everything shown (finish() included unless stopped).
std::string run(StopMatcher& m, const std::vector<std::string>& pieces) {
  std::string shown;
  for (const std::string& p : pieces) {
    StopMatcher::Output o = m.feed(p);
    shown += o.text;
    if (o.stopped) return shown;
  }
  return shown + m.finish();
}

// The reference: the text cut before the stop occurrence that ends first
// (ties: the longer one).
std::string reference(const std::string& text, const std::vector<std::string>& stops) {
  size_t best_end = std::string::npos, best_start = text.size();
  for (const std::string& s : stops) {
    if (s.empty()) continue;
    const size_t pos = text.find(s);
    if (pos == std::string::npos) continue;
    const size_t end = pos + s.size();
    if (end < best_end || (end == best_end && pos < best_start)) {
      best_end = end;
      best_start = pos;
    }
  }
  return text.substr(0, best_start);
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

TEST(StopMatcherTest, NoStopPassesThrough) {
  StopMatcher m({});
  EXPECT_EQ(m.feed("hello ").text, "hello ");
  EXPECT_EQ(m.feed("world").text, "world");
  EXPECT_EQ(m.finish(), "");
  EXPECT_FALSE(m.stopped());
}

TEST(StopMatcherTest, HoldsBackPossibleStart) {
  StopMatcher m({"###"});
  auto o = m.feed("abc#");
  EXPECT_EQ(o.text, "abc");
  EXPECT_FALSE(o.stopped);
  o = m.feed("#x");  // "##x" is no stop: all of it is released
  EXPECT_EQ(o.text, "##x");
  o = m.feed("##");
  EXPECT_EQ(o.text, "");
  EXPECT_EQ(m.finish(), "##");
}

TEST(StopMatcherTest, StopAcrossPieces) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.feed("abS").text, "ab");
  EXPECT_EQ(m.feed("T").text, "");
  auto o = m.feed("OPtail");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(o.text, "");
  EXPECT_EQ(o.stop_idx, 0);
  EXPECT_EQ(m.stop_string(), "STOP");
  EXPECT_TRUE(m.feed("more").stopped);
  EXPECT_EQ(m.feed("more").text, "");
  EXPECT_EQ(m.finish(), "");
}

TEST(StopMatcherTest, TextBeforeStopInSamePiece) {
  StopMatcher m({"\n\n", "END"});
  auto o = m.feed("one two END three");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(o.text, "one two ");
  EXPECT_EQ(o.stop_idx, 1);
}

TEST(StopMatcherTest, FirstToEndWins) {
  // "bc" completes before "abcd": a streaming server stops there.
  StopMatcher a({"abcd", "bc"});
  EXPECT_EQ(run(a, {"abcd"}), "a");
  EXPECT_EQ(a.stop_string(), "bc");
  // Same end: the longer (earlier-starting) one.
  StopMatcher b({"c", "abc"});
  EXPECT_EQ(run(b, {"xab", "c"}), "x");
  EXPECT_EQ(b.stop_string(), "abc");
  // Overlapping prefixes.
  StopMatcher c({"ab", "aab"});
  EXPECT_EQ(run(c, {"a", "a", "a", "b"}), "a");
  EXPECT_EQ(c.stop_string(), "aab");
  StopMatcher d({"aab", "bx"});
  EXPECT_EQ(run(d, {"a", "a", "bx"}), "");
}

TEST(StopMatcherTest, EmptyStopIgnoredIndicesKept) {
  StopMatcher m({"", "x"});
  auto o = m.feed("abx");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(o.stop_idx, 1);
  EXPECT_EQ(o.text, "ab");
}

TEST(StopMatcherTest, NeverSplitsACodePoint) {
  StopMatcher m({});
  const std::string euro = "\xe2\x82\xac";
  EXPECT_EQ(m.feed("a\xe2").text, "a");
  EXPECT_EQ(m.feed("\x82").text, "");
  EXPECT_EQ(m.feed("\xac"
                   "b")
                .text,
            euro + "b");
  StopMatcher s({euro + "!"});
  EXPECT_EQ(s.feed("x" + euro).text, "x");
  auto o = s.feed("!");
  EXPECT_TRUE(o.stopped);
  EXPECT_EQ(o.text, "");
}

TEST(StopMatcherTest, PropertyRandomTextsPiecesAndStops) {
  std::mt19937 rng(1234);
  const std::vector<std::string> alphabet = {
      "a", "b", "c", " ", "\n", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int iter = 0; iter < 20000; ++iter) {
    std::string text;
    const size_t len = pick(40);
    for (size_t i = 0; i < len; ++i)
      text += alphabet[pick(alphabet.size() > 5 && pick(4) ? 3 : alphabet.size())];
    std::vector<std::string> stops;
    const size_t num_stops = pick(5);
    for (size_t i = 0; i < num_stops; ++i) {
      std::string s;
      if (!text.empty() && pick(2)) {  // a substring of the text, cut at code points
        std::vector<size_t> starts;
        for (size_t k = 0; k < text.size(); ++k)
          if ((static_cast<unsigned char>(text[k]) & 0xC0) != 0x80) starts.push_back(k);
        starts.push_back(text.size());
        size_t a = pick(starts.size() - 1),
               b = a + 1 + pick(std::min<size_t>(6, starts.size() - 1 - a));
        s = text.substr(starts[a], starts[b] - starts[a]);
      } else {
        const size_t sl = 1 + pick(4);
        for (size_t k = 0; k < sl; ++k) s += alphabet[pick(alphabet.size())];
      }
      stops.push_back(s);
    }
    // Random piece boundaries at any byte (a detokenizer may split code points).
    std::vector<std::string> pieces;
    for (size_t i = 0; i < text.size();) {
      const size_t n = 1 + pick(6);
      pieces.push_back(text.substr(i, n));
      i += n;
    }
    if (pick(4) == 0)
      pieces.insert(pieces.begin() + static_cast<long>(pick(pieces.size() + 1)), "");
    StopMatcher m(stops);
    std::string shown;
    bool stopped = false;
    for (const std::string& p : pieces) {
      StopMatcher::Output o = m.feed(p);
      ASSERT_TRUE(valid_utf8(o.text)) << "iter " << iter;
      shown += o.text;
      if (o.stopped) {
        stopped = true;
        break;
      }
    }
    if (!stopped) shown += m.finish();
    const std::string want = reference(text, stops);
    ASSERT_EQ(shown, want) << "iter " << iter << " text '" << text << "'";
    bool occurs = false;
    for (const std::string& s : stops)
      occurs = occurs || (!s.empty() && text.find(s) != std::string::npos);
    ASSERT_EQ(stopped, occurs) << "iter " << iter;
    ASSERT_EQ(m.stopped(), occurs) << "iter " << iter;
  }
}

}  // namespace
}  // namespace pdserve::router
