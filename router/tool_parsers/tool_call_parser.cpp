#include "router/tool_parsers/tool_call_parser.h"

#include <random>

#include "router/tool_parsers/hermes_format.h"
#include "router/tool_parsers/llama3_json_format.h"
#include "router/tool_parsers/mistral_format.h"

namespace pdserve::router {

std::string random_call_id() {
  static constexpr std::string_view kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string id = "call_";
  for (int i = 0; i < 24; ++i) id += kChars[rng() % kChars.size()];
  return id;
}

const std::vector<std::string>& ToolCallParser::names() {
  static const std::vector<std::string> kNames = {"hermes", "llama3_json", "mistral"};
  return kNames;
}

Result<ToolCallParser> ToolCallParser::create(std::string_view name,
                                              std::function<std::string()> make_id) {
  std::unique_ptr<ToolCallFormat> format;
  if (name == "hermes") {
    format = std::make_unique<HermesFormat>();
  } else if (name == "llama3_json") {
    format = std::make_unique<Llama3JsonFormat>();
  } else if (name == "mistral") {
    format = std::make_unique<MistralFormat>();
  } else {
    std::string known;
    for (const std::string& n : names()) known += (known.empty() ? "" : ", ") + n;
    return invalid_argument("unknown tool call parser '" + std::string(name) +
                            "' (known: " + known + ")");
  }
  return ToolCallParser(std::move(format), make_id ? std::move(make_id) : random_call_id);
}

ToolCallParser::ToolCallParser(std::unique_ptr<ToolCallFormat> format,
                               std::function<std::string()> make_id)
    : format_(std::move(format)), make_id_(std::move(make_id)) {}

void ToolCallParser::emit_content(size_t len, StreamDelta* out) {
  out->content.append(buffer_, 0, len);
  buffer_.erase(0, len);
  started_ = started_ || len > 0;
}

void ToolCallParser::process(bool final, StreamDelta* out) {
  while (true) {
    if (!in_calls_) {
      StartMatch m = format_->find_start(buffer_, !started_);
      if (m.pos == StartMatch::kNone || (!m.complete && final)) {
        emit_content(buffer_.size(), out);
        return;
      }
      emit_content(m.pos, out);
      if (!m.complete) return;
      marker_ = buffer_.substr(0, m.len);
      buffer_.erase(0, m.len);
      in_calls_ = true;
      started_ = true;
    }
    Result<std::optional<CallBlock>> block = format_->take_calls(buffer_, final);
    if (block.ok() && !*block) return;  // wait for more text
    in_calls_ = false;
    if (!block.ok()) {  // malformed: give it back as content
      buffer_.insert(0, marker_);
      emit_content(buffer_.size(), out);
      return;
    }
    for (ToolCall& call : (*block)->calls) {
      call.id = make_id_();
      out->tool_calls.push_back({next_index_++, std::move(call)});
    }
    buffer_.erase(0, (*block)->consumed);
  }
}

StreamDelta ToolCallParser::feed(std::string_view chunk) {
  buffer_ += chunk;
  StreamDelta out;
  process(false, &out);
  return out;
}

StreamDelta ToolCallParser::finish() {
  StreamDelta out;
  process(true, &out);
  return out;
}

ParsedOutput ToolCallParser::parse(std::string_view text) {
  StreamDelta a = feed(text);
  StreamDelta b = finish();
  ParsedOutput out{a.content + b.content, {}};
  for (auto* d : {&a, &b}) {
    for (ToolCallDelta& t : d->tool_calls) out.tool_calls.push_back(std::move(t.call));
  }
  return out;
}

}  // namespace pdserve::router
