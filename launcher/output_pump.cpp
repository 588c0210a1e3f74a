#include "launcher/output_pump.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "common/base/logging.h"

namespace pdserve::launcher {
namespace {

void write_all(int fd, const char* data, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // sink closed or full: drop the line, never block the child
    data += n;
    len -= static_cast<size_t>(n);
  }
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

OutputPump::OutputPump(std::string name, int out_fd, int err_fd, int out_sink, int err_sink,
                       size_t num_tail_lines)
    : name_(std::move(name)), num_tail_lines_(num_tail_lines) {
  streams_[0].fd = out_fd;
  streams_[0].sink = out_sink;
  streams_[1].fd = err_fd;
  streams_[1].sink = err_sink;
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_read_fd_ = wake[0];
    wake_write_fd_ = wake[1];
  }
  thread_ = std::thread([this] { run(); });
}

OutputPump::~OutputPump() {
  finish(std::chrono::steady_clock::now());
}

void OutputPump::finish(std::chrono::steady_clock::time_point deadline) {
  if (finished_) return;
  finished_ = true;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!done_cv_.wait_until(lock, deadline, [this] { return done_; }) && wake_write_fd_ >= 0) {
      char byte = 1;
      (void)!::write(wake_write_fd_, &byte, 1);
    }
  }
  if (thread_.joinable()) thread_.join();
  for (Stream& stream : streams_) close_fd(stream.fd);
  close_fd(wake_read_fd_);
  close_fd(wake_write_fd_);
}

std::vector<std::string> OutputPump::tail() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {tail_.begin(), tail_.end()};
}

void OutputPump::run() {
  while (true) {
    pollfd fds[3];
    Stream* polled[2];
    nfds_t n = 0;
    for (Stream& stream : streams_) {
      if (stream.fd < 0) continue;
      polled[n] = &stream;
      fds[n++] = {stream.fd, POLLIN, 0};
    }
    if (n == 0) break;
    const nfds_t num_streams = n;
    if (wake_read_fd_ >= 0) fds[n++] = {wake_read_fd_, POLLIN, 0};
    int rc = ::poll(fds, n, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    if (num_streams < n && fds[num_streams].revents != 0) break;  // finish() gave up waiting
    for (nfds_t i = 0; i < num_streams; ++i) {
      if (fds[i].revents == 0) continue;
      if (!read_some(*polled[i])) {
        Stream& s = *polled[i];
        if (!s.partial.empty()) emit_line(s, s.partial);
        s.partial.clear();
        close_fd(s.fd);
      }
    }
  }
  // Whatever is left half-read when finish() cut us off still gets out.
  for (Stream& stream : streams_) {
    if (!stream.partial.empty()) emit_line(stream, stream.partial);
    stream.partial.clear();
  }
  std::lock_guard<std::mutex> lock(mu_);
  done_ = true;
  done_cv_.notify_all();
}

bool OutputPump::read_some(Stream& stream) {
  char buf[8192];
  ssize_t n = ::read(stream.fd, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  size_t begin = 0;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    if (buf[i] != '\n') continue;
    stream.partial.append(buf + begin, i - begin);
    emit_line(stream, stream.partial);
    stream.partial.clear();
    begin = i + 1;
  }
  stream.partial.append(buf + begin, static_cast<size_t>(n) - begin);
  while (stream.partial.size() >= kMaxLineBytes) {
    emit_line(stream, stream.partial.substr(0, kMaxLineBytes));
    stream.partial.erase(0, kMaxLineBytes);
  }
  return true;
}

void OutputPump::emit_line(Stream& stream, const std::string& line) {
  std::string out;
  out.reserve(name_.size() + line.size() + 16);
  if (log_format() == LogFormat::kJson && line.size() >= 2 && line.front() == '{' &&
      line.back() == '}') {
    // A child's JSON log line stays one object: its name goes in as "child".
    out.append("{\"child\":\"").append(json_escape(name_)).append("\",");
    out.append(line, 1).append("\n");
  } else {
    out.append("[").append(name_).append("] ").append(line).append("\n");
  }
  write_all(stream.sink, out.data(), out.size());
  if (num_tail_lines_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  tail_.push_back(line);
  while (tail_.size() > num_tail_lines_) tail_.pop_front();
}

}  // namespace pdserve::launcher
