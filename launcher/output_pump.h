// Copies a child's stdout and stderr to ours, one line at a time, each line
// prefixed with the child's name ("[decode-0] loaded 291 tensors"), and keeps
// the last lines so that a failure message can quote them. With
// --log-format json a line that is one JSON object gets the name as its
// first member instead ({"child":"decode-0","time":...}).
//
//   OutputPump pump("decode-0", out_read_fd, err_read_fd, STDOUT_FILENO, STDERR_FILENO, 20);
//   ...child runs...
//   pump.finish(deadline);          // after the child exited: drain, then join
//   std::vector<std::string> last = pump.tail();
//
// Each prefixed line is written with one write(2), so lines of different
// children do not interleave inside a line. A line longer than
// kMaxLineBytes is cut into pieces of that size. A last line without a
// newline is written with one added. Write errors on the sinks are ignored
// (a closed terminal must not stop the child).
//
// Thread-safety: tail() may be called from any thread while the pump runs.
// The pump owns and closes the read fds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pdserve::launcher {

class OutputPump {
 public:
  static constexpr size_t kMaxLineBytes = 16 * 1024;

  // out_fd / err_fd: read ends of the child's stdout / stderr pipes (-1: none).
  // out_sink / err_sink: where the prefixed lines go.
  OutputPump(std::string name, int out_fd, int err_fd, int out_sink, int err_sink,
             size_t num_tail_lines);
  ~OutputPump();  // finish(now)
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

  // Reads on until both pipes reached end of file or the deadline passed
  // (a grandchild that kept a pipe open), then joins the reader thread and
  // closes the fds. Idempotent.
  void finish(std::chrono::steady_clock::time_point deadline);

  // The last num_tail_lines lines (without prefix or newline), oldest first,
  // from both streams in the order they were read.
  std::vector<std::string> tail() const;

 private:
  struct Stream {
    int fd = -1;
    int sink = -1;
    std::string partial;
  };
  void run();
  // Returns false at end of file or on a read error.
  bool read_some(Stream& stream);
  void emit_line(Stream& stream, const std::string& line);

  std::string name_;
  Stream streams_[2];
  int wake_read_fd_ = -1;  // finish() writes to wake_write_fd_ when its deadline passed
  int wake_write_fd_ = -1;
  size_t num_tail_lines_;
  mutable std::mutex mu_;
  std::deque<std::string> tail_;  // guarded by mu_
  std::condition_variable done_cv_;
  bool done_ = false;  // guarded by mu_: the reader thread has stopped reading
  std::thread thread_;
  bool finished_ = false;
};

}  // namespace pdserve::launcher
