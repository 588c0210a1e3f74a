#include "common/server/exchange.h"

#include <utility>

#include "common/base/logging.h"
#include "common/wire/openai_error.h"

namespace pdserve::server {

void Exchange::wake_locked() {
  if (wake_) wake_();
}

bool Exchange::respond(Response response) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kWaiting) return false;
  response_ = std::move(response);
  state_ = State::kResponse;
  wake_locked();
  return true;
}

bool Exchange::start_stream(int status, Headers headers) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kWaiting) return false;
  Response head;
  head.status = status;
  head.headers = std::move(headers);
  head.content_type = "text/event-stream";
  response_ = std::move(head);
  state_ = State::kStreaming;
  wake_locked();
  return true;
}

Status Exchange::push(std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kStreaming) {
    if (state_ == State::kWaiting || state_ == State::kResponse) {
      return failed_precondition("not a streaming response");
    }
    return cancelled("stream closed");
  }
  if (buffered_bytes_ > 0 && buffered_bytes_ + bytes.size() > max_buffered_bytes_) {
    return resource_exhausted("stream buffer full (" + std::to_string(buffered_bytes_) +
                              " bytes): client reads too slowly");
  }
  if (direct_open_ && chunks_.empty()) {
    const Sent sent = direct_(bytes);
    if (sent.whole) return ok_status();
    direct_open_ = false;  // the connection writes the rest
    if (sent.num_sent > 0 || sent.failed) partial_ = sent;
  }
  buffered_bytes_ += bytes.size();
  chunks_.emplace_back(bytes);
  wake_locked();
  return ok_status();
}

void Exchange::finish() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kStreaming) return;
  state_ = State::kFinishing;
  wake_locked();
}

void Exchange::abandon() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ != State::kWaiting) return;
  PD_LOG(ERROR) << "handler dropped its ResponseWriter without answering; sending 500";
  response_ = openai_error(500, "internal error: the request was not answered");
  state_ = State::kResponse;
  wake_locked();
}

bool Exchange::is_closed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_ == State::kClosed || state_ == State::kDone || state_ == State::kFinishing;
}

void Exchange::on_disconnect(std::function<void()> cb) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (state_ == State::kDone) return;
    if (state_ != State::kClosed) {
      on_disconnect_.push_back(std::move(cb));
      return;
    }
  }
  cb();
}

size_t Exchange::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buffered_bytes_;
}

bool Exchange::wait_writable(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  auto room = [&] { return buffered_bytes_ <= max_buffered_bytes_ / 2; };  // hysteresis
  writable_cv_.wait_for(lock, timeout, [&] { return room() || state_ != State::kStreaming; });
  return room() && state_ == State::kStreaming;
}

void Exchange::set_wake(std::function<void()> wake) {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = std::move(wake);
}

void Exchange::set_direct_send(DirectSend send) {
  std::lock_guard<std::mutex> lock(mu_);
  direct_ = std::move(send);
}

void Exchange::open_direct() {
  std::lock_guard<std::mutex> lock(mu_);
  direct_open_ = direct_ && state_ == State::kStreaming && head_taken_ && chunks_.empty();
}

void Exchange::close_direct() {
  std::lock_guard<std::mutex> lock(mu_);
  direct_open_ = false;
}

Exchange::Work Exchange::take() {
  std::lock_guard<std::mutex> lock(mu_);
  direct_open_ = false;
  Work work;
  switch (state_) {
    case State::kClosed: work.closed = true; break;
    case State::kResponse:
      if (response_) work.response = std::move(response_);
      response_.reset();
      break;
    case State::kStreaming:
    case State::kFinishing:
      if (!head_taken_) {
        work.stream_head = std::move(response_);
        response_.reset();
        head_taken_ = true;
      }
      if (partial_) {  // alone: part of its framing is on the socket already
        work.bytes = std::move(chunks_.front());
        chunks_.pop_front();
        work.num_sent = partial_->num_sent;
        work.send_failed = partial_->failed;
        partial_.reset();
      } else {
        if (chunks_.size() == 1) {
          work.bytes = std::move(chunks_.front());  // a token's chunk, as a rule: no copy
        } else {
          for (std::string& c : chunks_) work.bytes.append(c);
        }
        chunks_.clear();
      }
      work.stream_done = state_ == State::kFinishing && chunks_.empty();
      break;
    case State::kWaiting:
    case State::kDone: break;
  }
  return work;
}

void Exchange::mark_written(size_t num_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  buffered_bytes_ = num_bytes > buffered_bytes_ ? 0 : buffered_bytes_ - num_bytes;
  writable_cv_.notify_all();
}

void Exchange::mark_done() {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_ == State::kClosed) return;
  state_ = State::kDone;
  wake_ = nullptr;
  direct_ = nullptr;
  direct_open_ = false;
  on_disconnect_.clear();
  writable_cv_.notify_all();
}

void Exchange::mark_closed() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = nullptr;
    direct_ = nullptr;
    direct_open_ = false;
    if (state_ == State::kDone || state_ == State::kClosed) return;
    // A stream the producer already finished still counts as cut short: the
    // client did not get its end.
    state_ = State::kClosed;
    callbacks.swap(on_disconnect_);
    chunks_.clear();
    partial_.reset();
    buffered_bytes_ = 0;
    writable_cv_.notify_all();
  }
  for (auto& cb : callbacks) cb();
}

}  // namespace pdserve::server
