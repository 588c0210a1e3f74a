// Fixture parity with Hugging Face `tokenizers`: every case of every
// tests/fixtures/tokenizers/<name>/expected.jsonl (written by
// tools/make_tokenizer_fixtures.py) must give identical ids and decodes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tokenizer/tokenizer.h"

namespace pdserve::tokenizer {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const fs::path kFixtures = fs::path(PDSERVE_SOURCE_DIR) / "tests/fixtures/tokenizers";

std::vector<fs::path> fixture_dirs() {
  std::vector<fs::path> dirs;
  if (!fs::is_directory(kFixtures)) return dirs;
  for (const auto& e : fs::directory_iterator(kFixtures)) {
    if (e.is_directory() && fs::exists(e.path() / "tokenizer.json")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

std::string show(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (size_t i = 0; i < ids.size() && i < 40; ++i) s << (i ? "," : "") << ids[i];
  if (ids.size() > 40) s << ",... (" << ids.size() << ")";
  return s.str();
}

std::string clip(const std::string& text) {
  return text.size() > 120 ? text.substr(0, 120) + "..." : text;
}

TEST(TokenizerParity, FixturesArePresent) {
  ASSERT_TRUE(fs::is_directory(kFixtures))
      << kFixtures << " is missing: run tools/make_tokenizer_fixtures.py (see its header)";
  EXPECT_GE(fixture_dirs().size(), 4u) << "expected llama3, qwen2, llama2, demo fixtures";
}

TEST(TokenizerParity, IdsAndDecodesMatchHuggingFace) {
  const auto dirs = fixture_dirs();
  ASSERT_FALSE(dirs.empty()) << "no fixtures under " << kFixtures;
  for (const fs::path& dir : dirs) {
    SCOPED_TRACE(dir.filename().string());
    auto tok = Tokenizer::from_file((dir / "tokenizer.json").string());
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    std::ifstream in(dir / "expected.jsonl");
    ASSERT_TRUE(in) << "no expected.jsonl in " << dir;
    std::string line;
    int num_cases = 0, num_failed = 0;
    while (std::getline(in, line)) {
      const Json c = Json::parse(line);
      const std::string text = c["text"].get<std::string>();
      const auto want = c["ids"].get<std::vector<int32_t>>();
      const auto want_plain = c["ids_no_special"].get<std::vector<int32_t>>();
      const auto want_split =
          c.contains("ids_split") ? c["ids_split"].get<std::vector<int32_t>>() : want;
      const std::string want_dec = c.value("decoded", text);
      const std::string want_skip = c.value("decoded_skip", want_dec);
      ++num_cases;
      auto ids = (*tok)->encode(text);
      auto plain = (*tok)->encode(text, {.add_special_tokens = false});
      auto split = (*tok)->encode(text, {.split_special_tokens = true});
      auto dec = (*tok)->decode(want);
      auto skip = (*tok)->decode(want, true);
      const bool ok = ids.ok() && plain.ok() && split.ok() && dec.ok() && skip.ok() &&
                      *ids == want && *plain == want_plain && *split == want_split &&
                      *dec == want_dec && *skip == want_skip;
      if (ok) continue;
      if (++num_failed > 5) continue;
      ADD_FAILURE() << "case " << num_cases << " text '" << clip(text) << "'\n"
                    << "  ids   " << (ids.ok() ? show(*ids) : ids.status().to_string())
                    << "\n  want  " << show(want) << "\n  plain "
                    << (plain.ok() ? show(*plain) : plain.status().to_string()) << "\n  want  "
                    << show(want_plain) << "\n  split "
                    << (split.ok() ? show(*split) : split.status().to_string()) << "\n  want  "
                    << show(want_split) << "\n  dec   '" << (dec.ok() ? clip(*dec) : "ERR")
                    << "'\n  want  '" << clip(want_dec) << "'\n  skip  '"
                    << (skip.ok() ? clip(*skip) : "ERR") << "'\n  want  '" << clip(want_skip)
                    << "'";
    }
    EXPECT_EQ(num_failed, 0) << num_failed << " of " << num_cases << " cases differ";
    EXPECT_GT(num_cases, 100);
    std::cout << dir.filename().string() << ": " << num_cases - num_failed << "/" << num_cases
              << " cases identical\n";
  }
}

}  // namespace
}  // namespace pdserve::tokenizer
