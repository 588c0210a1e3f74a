#include "router/openai_response.h"

#include "router/internal/json_reader.h"
#include "router/internal/logprobs_json.h"

namespace pdserve::router {
namespace {

using detail::json;

json finish_json(std::string_view finish_reason) {
  auto shown = client_finish_reason(finish_reason);
  return shown ? json(std::string(*shown)) : json(nullptr);
}

json usage_json(const Usage& u) {
  json j = {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens}};
  if (u.cached_tokens >= 0) j["prompt_tokens_details"] = {{"cached_tokens", u.cached_tokens}};
  return j;
}

json envelope(const ResponseMeta& meta, std::string_view object) {
  return {{"id", meta.id}, {"object", object}, {"created", meta.created}, {"model", meta.model}};
}

json stop_reason_json(const StopReason& r) {
  if (!r.stop_string.empty()) return detail::token_json(r.stop_string);
  if (r.stop_token_id) return *r.stop_token_id;
  return nullptr;
}

// The logprobs written as text (as a streaming chunk carries them), as a value.
json completion_logprobs_or_null(const CompletionChoice& c) {
  if (!c.logprobs) return nullptr;
  std::string text;
  detail::append_completion_logprobs(text, *c.logprobs, c.text_offset);
  return json::parse(text);
}

json completion_choice(const CompletionChoice& c) {
  return {{"index", c.index},
          {"text", detail::token_json(c.text)},
          {"logprobs", completion_logprobs_or_null(c)},
          {"finish_reason", finish_json(c.finish_reason)},
          {"stop_reason", stop_reason_json(c.stop_reason)}};
}

json tool_calls_json(const std::vector<ToolCallDelta>& calls, bool with_index) {
  json out = json::array();
  for (const ToolCallDelta& d : calls) {
    json c = {{"id", d.call.id},
              {"type", "function"},
              {"function", {{"name", d.call.name}, {"arguments", d.call.arguments}}}};
    if (with_index) c["index"] = d.index;
    out.push_back(std::move(c));
  }
  return out;
}

json chat_message(const ChatChoice& c) {
  json m = {{"role", "assistant"}, {"content", detail::token_json(c.content)}};
  if (c.tool_calls.empty()) return m;
  if (c.content.empty()) m["content"] = nullptr;
  m["tool_calls"] = tool_calls_json(c.tool_calls, false);
  return m;
}

json chat_logprobs_or_null(const ChatChoice& c) {
  if (!c.logprobs) return nullptr;
  std::string text;
  detail::append_chat_logprobs(text, *c.logprobs);
  return json::parse(text);
}

}  // namespace

std::optional<std::string_view> client_finish_reason(std::string_view finish_reason) {
  if (finish_reason == "stop") return "stop";
  if (finish_reason == "length") return "length";
  if (finish_reason == "tool_calls") return "tool_calls";
  return std::nullopt;
}

std::string completion_response(const ResponseMeta& meta,
                                const std::vector<CompletionChoice>& choices, const Usage& usage) {
  json j = envelope(meta, "text_completion");
  json cs = json::array();
  for (const CompletionChoice& c : choices) cs.push_back(completion_choice(c));
  j["choices"] = std::move(cs);
  j["usage"] = usage_json(usage);
  return detail::dump(j);
}

std::string chat_response(const ResponseMeta& meta, const std::vector<ChatChoice>& choices,
                          const Usage& usage) {
  json j = envelope(meta, "chat.completion");
  json cs = json::array();
  for (const ChatChoice& c : choices)
    cs.push_back({{"index", c.index},
                  {"message", chat_message(c)},
                  {"logprobs", chat_logprobs_or_null(c)},
                  {"finish_reason", finish_json(c.finish_reason)},
                  {"stop_reason", stop_reason_json(c.stop_reason)}});
  j["choices"] = std::move(cs);
  j["usage"] = usage_json(usage);
  return detail::dump(j);
}

namespace {

json model_json(const ModelCard& m) {
  return {{"id", m.id},
          {"object", "model"},
          {"created", m.created},
          {"owned_by", "pdserve"},
          {"root", m.id},
          {"parent", nullptr},
          {"max_model_len", m.max_model_len}};
}

}  // namespace

std::string models_response(const std::vector<ModelCard>& models) {
  json data = json::array();
  for (const ModelCard& m : models) data.push_back(model_json(m));
  return detail::dump({{"object", "list"}, {"data", std::move(data)}});
}

std::string model_response(const ModelCard& model) {
  return detail::dump(model_json(model));
}

}  // namespace pdserve::router
