#include "bench/openai_stream.h"

#include <atomic>
#include <nlohmann/json.hpp>

namespace pdserve::bench {
namespace {

using nlohmann::json;

double seconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string one_line(std::string_view s, size_t max_len = 200) {
  std::string out;
  for (char c : s.substr(0, max_len)) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  if (s.size() > max_len) out += "...";
  return out;
}

// The content of a chunk's first choice; empty when it carries none.
std::string content_of(const json& chunk, Endpoint endpoint) {
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return {};
  const json& c = (*choices)[0];
  if (!c.is_object()) return {};
  if (endpoint == Endpoint::kCompletions) {
    auto text = c.find("text");
    return text != c.end() && text->is_string() ? text->get<std::string>() : std::string();
  }
  auto delta = c.find("delta");
  if (delta == c.end() || !delta->is_object()) return {};
  auto content = delta->find("content");
  return content != delta->end() && content->is_string() ? content->get<std::string>()
                                                         : std::string();
}

// pdserve's internal GenerateRequest (common/wire/internal_api.h).
std::string internal_body(const BenchRequest& request, const BodyOptions& options) {
  static std::atomic<uint64_t> next_id{0};
  json body = {{"version", 1},
               {"request_id", "bench-" + std::to_string(next_id.fetch_add(1))},
               {"prompt_ids", request.prompt_ids},
               {"sampling",
                {{"temperature", options.temperature},
                 {"max_tokens", request.output_len},
                 {"ignore_eos", options.ignore_eos}}}};
  return body.dump();
}

// Token ids of an internal GenerateEvent.
int num_event_tokens(const json& event) {
  auto ids = event.find("token_ids");
  return ids != event.end() && ids->is_array() ? static_cast<int>(ids->size()) : 0;
}

}  // namespace

std::string request_body(const BenchRequest& request, const BodyOptions& options) {
  if (options.endpoint == Endpoint::kInternalGenerate) return internal_body(request, options);
  json body = {{"model", options.model},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}},
               {"temperature", options.temperature}};
  if (options.ignore_eos) body["ignore_eos"] = true;
  if (options.endpoint == Endpoint::kCompletions) {
    if (!request.prompt_ids.empty()) {
      body["prompt"] = request.prompt_ids;
    } else {
      body["prompt"] = request.prompt_text;
    }
    body["max_tokens"] = request.output_len;
  } else {
    json messages = json::array();
    if (!request.system_text.empty())
      messages.push_back({{"role", "system"}, {"content", request.system_text}});
    messages.push_back({{"role", "user"}, {"content", request.prompt_text}});
    body["messages"] = std::move(messages);
    body["max_completion_tokens"] = request.output_len;
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_message_of(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    auto e = j.find("error");
    if (e != j.end() && e->is_object()) {
      auto m = e->find("message");
      if (m != e->end() && m->is_string()) return one_line(m->get<std::string>());
    }
    if (e != j.end() && e->is_string()) return one_line(e->get<std::string>());
  }
  return one_line(body);
}

StreamReader::StreamReader(Endpoint endpoint, Clock::time_point sent_at, RequestRecord* record)
    : endpoint_(endpoint), sent_at_(sent_at), record_(record) {}

void StreamReader::fail(std::string message) {
  record_->success = false;
  if (record_->error.empty()) record_->error = std::move(message);
}

bool StreamReader::on_data(std::string_view data, Clock::time_point at) {
  if (data == "[DONE]") {
    done_seen_ = true;
    return true;
  }
  json chunk = json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!chunk.is_object()) {
    fail("malformed chunk: " + one_line(data));
    return false;
  }
  if (chunk.contains("error")) {
    fail("error event: " + error_message_of(data));
    return false;
  }
  if (endpoint_ == Endpoint::kInternalGenerate) {
    const int n = num_event_tokens(chunk);
    if (n > 0) {
      if (!has_content_) {
        record_->ttft_s = seconds(at - sent_at_);
        has_content_ = true;
      } else {
        record_->itl_s.push_back(seconds(at - last_content_at_));
      }
      last_content_at_ = at;
      record_->output_len = (record_->usage_reported ? record_->output_len : 0) + n;
      record_->usage_reported = true;
    }
    return true;
  }
  const std::string content = content_of(chunk, endpoint_);
  if (!content.empty()) {
    if (!has_content_) {
      record_->ttft_s = seconds(at - sent_at_);
      has_content_ = true;
    } else {
      record_->itl_s.push_back(seconds(at - last_content_at_));
    }
    last_content_at_ = at;
    record_->generated_text += content;
  }
  auto usage = chunk.find("usage");
  if (usage != chunk.end() && usage->is_object()) {
    auto ct = usage->find("completion_tokens");
    if (ct != usage->end() && ct->is_number_integer()) {
      record_->output_len = ct->get<int>();
      record_->usage_reported = true;
    }
    auto pt = usage->find("prompt_tokens");
    if (pt != usage->end() && pt->is_number_integer())
      record_->usage_prompt_tokens = pt->get<int>();
  }
  return true;
}

void StreamReader::finish(const Status& transport, int http_status, std::string_view error_body,
                          Clock::time_point at) {
  record_->e2e_s = seconds(at - sent_at_);
  record_->http_status = http_status;
  if (!record_->error.empty()) {
    record_->success = false;
    return;
  }
  if (http_status != 0 && (http_status < 200 || http_status > 299)) {
    fail(error_body.empty() ? "HTTP " + std::to_string(http_status) : error_message_of(error_body));
  } else if (!transport.ok()) {
    fail(std::string(status_code_name(transport.code())) + ": " + transport.message());
  } else if (!done_seen_) {
    fail("the stream ended without data: [DONE]");
  } else {
    // No content chunk at all (every token decoded to nothing): the answer
    // came whole at the end, so its first token did too.
    if (!has_content_) record_->ttft_s = record_->e2e_s;
    record_->success = true;
  }
}

}  // namespace pdserve::bench
