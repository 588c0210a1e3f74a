#include "cli/progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace pdserve::cli {

ProgressBar::ProgressBar(std::string label, size_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(size_t done) {
  if (!enabled_ || finished_ || total_ == 0) return;
  const int permille = static_cast<int>(done * 1000 / total_);
  if (permille == last_permille_) return;
  last_permille_ = permille;
  constexpr int kWidth = 30;
  const int filled = permille * kWidth / 1000;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::fprintf(stderr, "\r%s [%s] %5.1f%% %.1fs", label_.c_str(), bar.c_str(), permille / 10.0,
               secs);
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (!enabled_ || finished_) return;
  update(total_);
  finished_ = true;
  std::fprintf(stderr, "\n");
}

}  // namespace pdserve::cli
