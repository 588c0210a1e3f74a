// Encoding speed of a tokenizer.json over a corpus, on one thread:
//   tokenizer_bench TOKENIZER_JSON CORPUS_JSONL [PASSES]
// CORPUS_JSONL holds one JSON string per line (tests/fixtures/tokenizers/corpus.jsonl).
// Prints MB/s for the first pass (BPE cache cold) and the best later pass.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON CORPUS_JSONL [PASSES]\n", argv[0]);
    return 2;
  }
  const int passes = argc > 3 ? std::max(2, std::atoi(argv[3])) : 5;
  std::vector<std::string> lines;
  size_t bytes = 0;
  std::ifstream in(argv[2]);
  for (std::string line; std::getline(in, line);) {
    try {
      lines.push_back(nlohmann::json::parse(line).get<std::string>());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: not a JSON string per line: %s\n", argv[2], e.what());
      return 1;
    }
    bytes += lines.back().size();
  }
  auto tok = pdserve::tokenizer::Tokenizer::from_file(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.status().to_string().c_str());
    return 1;
  }
  double first = 0, best = 1e30;
  size_t num_ids = 0;
  for (int p = 0; p < passes; ++p) {
    num_ids = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const std::string& line : lines) {
      auto ids = (*tok)->encode(line);
      if (!ids.ok()) {
        std::fprintf(stderr, "encode: %s\n", ids.status().to_string().c_str());
        return 1;
      }
      num_ids += ids->size();
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (p == 0)
      first = s;
    else
      best = std::min(best, s);
  }
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("%s: %zu lines, %.3f MB, %zu ids; first pass %.1f MB/s, best of %d later %.1f MB/s\n",
              argv[1], lines.size(), mb, num_ids, mb / first, passes - 1, mb / best);
  return 0;
}
