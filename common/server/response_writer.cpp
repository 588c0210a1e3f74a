#include "common/server/response_writer.h"

#include <string>
#include <utility>

#include "common/server/exchange.h"
#include "common/server/sse.h"

namespace pdserve::server {

SseWriter::SseWriter(std::shared_ptr<Exchange> exchange) : exchange_(std::move(exchange)) {}

SseWriter::~SseWriter() {
  exchange_->finish();
}

Status SseWriter::send_event(std::string_view data, std::string_view event) {
  // Framed in this thread's buffer: push copies only what has to wait. A
  // rare large event's buffer is not kept.
  constexpr size_t kMaxKeptBytes = size_t{64} << 10;
  thread_local std::string framed;
  framed.clear();
  append_sse_data(&framed, data, event);
  Status pushed = exchange_->push(framed);
  if (framed.capacity() > kMaxKeptBytes) std::string().swap(framed);
  return pushed;
}

Status SseWriter::send_comment(std::string_view text) {
  return exchange_->push(format_sse_comment(text));
}

void SseWriter::close() {
  exchange_->finish();
}

bool SseWriter::is_closed() const {
  return exchange_->is_closed();
}

void SseWriter::on_disconnect(std::function<void()> cb) {
  exchange_->on_disconnect(std::move(cb));
}

size_t SseWriter::buffered_bytes() const {
  return exchange_->buffered_bytes();
}

bool SseWriter::wait_writable(std::chrono::milliseconds timeout) {
  return exchange_->wait_writable(timeout);
}

ResponseWriter::ResponseWriter(std::shared_ptr<Exchange> exchange)
    : exchange_(std::move(exchange)) {}

ResponseWriter::~ResponseWriter() {
  exchange_->abandon();
}

bool ResponseWriter::respond(Response response) {
  return exchange_->respond(std::move(response));
}

std::shared_ptr<SseWriter> ResponseWriter::start_sse(int status, Headers headers) {
  if (!exchange_->start_stream(status, std::move(headers))) return nullptr;
  return std::make_shared<SseWriter>(exchange_);
}

bool ResponseWriter::is_closed() const {
  return exchange_->is_closed();
}

void ResponseWriter::on_disconnect(std::function<void()> cb) {
  exchange_->on_disconnect(std::move(cb));
}

}  // namespace pdserve::server
