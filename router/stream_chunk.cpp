// The streaming chunks of openai_response.h, written as text into one string
// (one per token on the hot path): the same bytes as the json objects of
// openai_response.cpp would dump to, keys in nlohmann's (sorted) order.
#include <string>

#include "router/internal/json_text.h"
#include "router/internal/logprobs_json.h"
#include "router/openai_response.h"

namespace pdserve::router {
namespace {

using detail::append_json_string;

void append_finish_reason(std::string& out, std::string_view finish_reason) {
  const std::optional<std::string_view> shown = client_finish_reason(finish_reason);
  if (!shown) {
    out += "null";
    return;
  }
  out.push_back('"');
  out.append(*shown);
  out.push_back('"');
}

void append_stop_reason(std::string& out, const StopReason& r) {
  if (!r.stop_string.empty()) {
    append_json_string(out, r.stop_string);
  } else if (r.stop_token_id) {
    out += std::to_string(*r.stop_token_id);
  } else {
    out += "null";
  }
}

// "tool_calls":[{"function":{"arguments","name"},"id","index","type"}, ...]
void append_tool_calls(std::string& out, const std::vector<ToolCallDelta>& calls) {
  out += "\"tool_calls\":[";
  for (size_t i = 0; i < calls.size(); ++i) {
    const ToolCallDelta& d = calls[i];
    if (i > 0) out.push_back(',');
    out += "{\"function\":{\"arguments\":";
    append_json_string(out, d.call.arguments);
    out += ",\"name\":";
    append_json_string(out, d.call.name);
    out += "},\"id\":";
    append_json_string(out, d.call.id);
    out += ",\"index\":";
    out += std::to_string(d.index);
    out += ",\"type\":\"function\"}";
  }
  out.push_back(']');
}

// The envelope's keys after "choices" but "usage": created, id, model, object.
void append_envelope(std::string& out, const ResponseMeta& meta, Endpoint endpoint) {
  const std::string_view object =
      endpoint == Endpoint::kChatCompletions ? "chat.completion.chunk" : "text_completion";
  out += "\"created\":";
  out += std::to_string(meta.created);
  out += ",\"id\":";
  append_json_string(out, meta.id);
  out += ",\"model\":";
  append_json_string(out, meta.model);
  out += ",\"object\":\"";
  out += object;
  out.push_back('"');
}

// Replaces *out with the chunk's opening (its capacity is kept: a buffer
// reused from chunk to chunk allocates nothing).
std::string& start(std::string* out, size_t text_len) {
  out->clear();
  out->reserve(160 + text_len);
  out->append("{\"choices\":[{");
  return *out;
}

}  // namespace

std::string chunk_tail(const ResponseMeta& meta, Endpoint endpoint) {
  std::string out = "}],";
  append_envelope(out, meta, endpoint);
  if (meta.include_usage) out += ",\"usage\":null";
  out.push_back('}');
  return out;
}

std::string usage_chunk(const ResponseMeta& meta, Endpoint endpoint, const Usage& usage) {
  std::string out = "{\"choices\":[],";
  append_envelope(out, meta, endpoint);
  out += ",\"usage\":{\"completion_tokens\":";
  out += std::to_string(usage.completion_tokens);
  out += ",\"prompt_tokens\":";
  out += std::to_string(usage.prompt_tokens);
  if (usage.cached_tokens >= 0) {
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":";
    out += std::to_string(usage.cached_tokens);
    out.push_back('}');
  }
  out += ",\"total_tokens\":";
  out += std::to_string(usage.prompt_tokens + usage.completion_tokens);
  out += "}}";
  return out;
}

void completion_chunk(const CompletionChoice& choice, std::string_view tail, std::string* chunk) {
  std::string& out = start(chunk, choice.text.size());
  out += "\"finish_reason\":";
  append_finish_reason(out, choice.finish_reason);
  out += ",\"index\":";
  out += std::to_string(choice.index);
  out += ",\"logprobs\":";
  if (choice.logprobs) {
    detail::append_completion_logprobs(out, *choice.logprobs, choice.text_offset);
  } else {
    out += "null";
  }
  out += ",\"stop_reason\":";
  append_stop_reason(out, choice.stop_reason);
  out += ",\"text\":";
  append_json_string(out, choice.text);
  out += tail;
}

void chat_chunk(const ChatChoice& choice, std::string_view tail, std::string* chunk) {
  std::string& out = start(chunk, choice.content.size());
  out += "\"delta\":{";
  if (choice.role_chunk || !choice.content.empty()) {
    out += "\"content\":";
    append_json_string(out, choice.content);
  }
  if (choice.role_chunk) out += ",\"role\":\"assistant\"";
  if (!choice.tool_calls.empty()) {
    if (out.back() != '{') out.push_back(',');
    append_tool_calls(out, choice.tool_calls);
  }
  out += "},\"finish_reason\":";
  append_finish_reason(out, choice.finish_reason);
  out += ",\"index\":";
  out += std::to_string(choice.index);
  out += ",\"logprobs\":";
  if (choice.logprobs) {
    detail::append_chat_logprobs(out, *choice.logprobs);
  } else {
    out += "null";
  }
  out += ",\"stop_reason\":";
  append_stop_reason(out, choice.stop_reason);
  out += tail;
}

}  // namespace pdserve::router
