// A one-line progress bar on stderr, drawn only when stderr is a terminal.
// Thread-compatible (one owner).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace pdserve::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label, size_t total = 0);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(size_t done);
  void update(size_t done, size_t total) {
    total_ = total;
    update(done);
  }
  void finish();

 private:
  std::string label_;
  size_t total_;
  bool enabled_;
  bool finished_ = false;
  int last_permille_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace pdserve::cli
