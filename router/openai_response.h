// The JSON text of the router's OpenAI responses (non-streaming and SSE chunk
// payloads; the caller frames chunks as `data: <json>\n\n` and ends with
// `data: [DONE]`). Token strings come from the caller, decoded per token.
//
// Streaming, per choice (index i), in order:
//   chat:        chat_chunk{role_chunk=true} → chat_chunk{content}* →
//                chat_chunk{finish_reason}  (content may ride on the last one)
//   completions: completion_chunk{text}* → completion_chunk{finish_reason}
//   then, when stream_options.include_usage: usage_chunk (empty choices).
//
// finish_reason: "stop", "length" and "tool_calls" are shown; "" is null (a stream chunk
// before the end). Any other value ("abort", ...) is shown as null too: the
// caller must end such a stream with an error event instead, and answer a
// non-streaming request with an error, never with a truncated choice.
//
// Every choice also carries vLLM's "stop_reason" (StopReason below).
// Logprobs: -inf is written as -9999.0 (as vLLM does); token strings that are
// not valid UTF-8 are written with U+FFFD replacements ("bytes" carries the raw bytes).
// Pure functions, thread-safe, never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/openai_request.h"
#include "router/tool_parsers/tool_call.h"

namespace pdserve::router {

struct ResponseMeta {
  std::string id;       // "cmpl-..." / "chatcmpl-..."
  int64_t created = 0;  // unix seconds
  std::string model;
  bool include_usage = false;  // streaming: chunks carry "usage": null, as OpenAI does
};

struct TopLogprob {
  std::string token;  // raw bytes of the decoded token
  float logprob = 0.0f;
};

struct TokenLogprobInfo {
  std::string token;  // raw bytes of the decoded token
  float logprob = 0.0f;
  std::vector<TopLogprob> top;  // most likely first
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int cached_tokens = -1;  // >= 0: written as prompt_tokens_details.cached_tokens
};

// vLLM's "stop_reason": the stop string matched, else the stop token id
// (from stop_token_ids), else null (EOS, length, or not finished).
struct StopReason {
  std::string stop_string;
  std::optional<int32_t> stop_token_id;
};

struct CompletionChoice {
  int index = 0;
  std::string text;
  // nullopt → "logprobs": null. Completions format:
  // {"tokens", "token_logprobs", "top_logprobs": [{tok: lp}], "text_offset"}.
  std::optional<std::vector<TokenLogprobInfo>> logprobs;
  int text_offset = 0;  // offset of the first token's text in the choice's whole text
  std::string finish_reason;
  StopReason stop_reason;
};

struct ChatChoice {
  int index = 0;
  std::string content;
  // nullopt → null. Chat format: {"content": [{"token", "logprob", "bytes", "top_logprobs"}]}.
  std::optional<std::vector<TokenLogprobInfo>> logprobs;
  std::string finish_reason;
  StopReason stop_reason;
  // Streaming only: the first chunk, delta {"role": "assistant", "content": ""}.
  bool role_chunk = false;
  // message.tool_calls (content null when empty) / delta.tool_calls, each
  // {"index" (chunks only), "id", "type": "function", "function": {"name", "arguments"}}.
  std::vector<ToolCallDelta> tool_calls;
};

// The shown finish reason ("stop", "length", "tool_calls") or nullopt (null).
std::optional<std::string_view> client_finish_reason(std::string_view finish_reason);

// {"id", "object": "text_completion", "created", "model", "choices", "usage"}
std::string completion_response(const ResponseMeta& meta,
                                const std::vector<CompletionChoice>& choices, const Usage& usage);
// {"id", "object": "chat.completion", ..., "choices": [{"index", "message": {"role":
// "assistant", "content"}, "logprobs", "finish_reason"}], "usage"}
std::string chat_response(const ResponseMeta& meta, const std::vector<ChatChoice>& choices,
                          const Usage& usage);

// What follows the choice in every streaming chunk of one response (created,
// id, model, object, usage): written once per request.
std::string chunk_tail(const ResponseMeta& meta, Endpoint endpoint);
// One streaming chunk carrying one choice, then `tail` (chunk_tail's),
// replacing *chunk (a buffer the caller reuses from token to token).
void completion_chunk(const CompletionChoice& choice, std::string_view tail, std::string* chunk);
void chat_chunk(const ChatChoice& choice, std::string_view tail, std::string* chunk);
// The last chunk when include_usage: "choices": [] and the usage.
std::string usage_chunk(const ResponseMeta& meta, Endpoint endpoint, const Usage& usage);

// /v1/models: {"object": "list", "data": [{"id", "object": "model", "created",
// "owned_by": "pdserve", "root", "parent": null, "max_model_len"}]}
struct ModelCard {
  std::string id;
  int64_t created = 0;
  int max_model_len = 0;
};
std::string models_response(const std::vector<ModelCard>& models);
// /v1/models/{id}: the one model object, as in the list above.
std::string model_response(const ModelCard& model);

}  // namespace pdserve::router
