// Parsing and validation of /v1/completions and /v1/chat/completions bodies,
// as vLLM's OpenAI server does, into OpenAiRequest. Null is the same as
// absent for every optional field. Unknown fields are ignored, except those
// that name workers, blocks or peers (the internal plane: "prefill",
// "prefill_mode", "block_ids", "kv_target", "kv_transfer_params", ...): they
// are dropped, listed in `dropped_fields` and never forwarded.
//
// Structured outputs (response_format, structured_outputs, guided_*, and
// for chat tools + tool_choice) are read and checked by
// router/internal/structured_parse.h into sampling.constraint and tool_use.
//
// Rejected rather than ignored (they would change the output): a non-empty
// logit_bias, suffix, best_of other than 1 or n, completions echo with
// logprobs (prompt logprobs), vLLM's structural_tag.
//
// Errors (ApiError, 400 invalid_request_error): the body is not JSON or not a
// JSON object (param ""), a field of the wrong JSON type ("'temperature' must
// be a number, got a string", param "temperature"), a value out of bounds
// ("'n' must be an integer in [1, 16], got 0"), a missing required field
// ("'model' is required").
//
// Then, once the prompt is tokenized, finalize_sampling() fills max_tokens
// (absent: what the context leaves) or returns context_length_exceeded.
// Pure functions, thread-safe; they never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// SamplingParams as the internal API carries it to the decode workers (the
// router never depends on the engine's runner itself).
#include "common/wire/internal_api.h"
#include "router/api_error.h"
#include "router/api_limits.h"
#include "router/chat_input.h"
#include "router/tool_use.h"

namespace pdserve::router {

enum class Endpoint { kCompletions, kChatCompletions };

// One completions prompt: text, or token ids when `is_tokens`.
struct Prompt {
  bool is_tokens = false;
  std::string text;
  std::vector<int32_t> token_ids;  // non-negative; the caller checks them against the vocabulary
};

struct OpenAiRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;

  // Completions: one or more, each with its own n choices (choice index =
  // prompt_idx * n + choice_idx, as OpenAI and vLLM number them); chat: empty.
  std::vector<Prompt> prompts;
  ChatInput chat;  // chat only

  // Everything but max_tokens is final; sampling.max_tokens is 0 until
  // finalize_sampling(). num_logprobs: -1 none, else the top-N asked for
  // (completions `logprobs`, chat `top_logprobs` when `logprobs` is true).
  protocol::SamplingParams sampling;
  std::optional<int> max_tokens;  // as asked (chat: max_completion_tokens wins)
  std::vector<std::string> stop;  // non-empty strings; matched by the router (StopMatcher)
  int n = 1;
  bool stream = false;
  bool include_usage = false;       // stream_options.include_usage
  bool echo = false;                // completions: the prompt text is prepended to each choice
  bool skip_special_tokens = true;  // detokenization
  bool spaces_between_special_tokens = true;  // detokenization
  // Tokenization of the prompt text (or of the rendered chat template):
  // completions default true, chat default false (the template has the BOS).
  bool add_special_tokens = true;
  // vLLM's extension: the matched stop string is appended to the output.
  bool include_stop_str_in_output = false;
  std::string user;
  std::string cache_salt;
  int priority = 0;

  // Structured outputs: sampling.constraint, and the field it came from
  // ("response_format.json_schema.schema", "guided_regex", "tool_choice", ...).
  std::string constraint_field;
  ToolUse tool_use;  // chat with tools

  std::vector<std::string> dropped_fields;  // internal-plane fields the client sent, dropped
};

ApiResult<OpenAiRequest> parse_completion_request(std::string_view body,
                                                  const ApiLimits& limits = {});
ApiResult<OpenAiRequest> parse_chat_request(std::string_view body, const ApiLimits& limits = {});

// The sampling params to send for a prompt of num_prompt_tokens tokens:
// max_tokens as asked, or max_model_len - num_prompt_tokens when absent.
// Fails with context_length_exceeded (param "prompt" / "messages") when the
// prompt plus max_tokens exceed max_model_len (or the prompt leaves no room),
// and with 400 "min_tokens" when min_tokens > max_tokens.
ApiResult<protocol::SamplingParams> finalize_sampling(const OpenAiRequest& req,
                                                      int num_prompt_tokens, int max_model_len);

// The sampling params of choice `choice_idx` of n: a seeded request gets
// seed + choice_idx per choice so that n > 1 choices differ yet repeat.
protocol::SamplingParams choice_sampling(const protocol::SamplingParams& s, int choice_idx);

// Every token id in the request (token-id prompts, stop_token_ids) must be
// < vocab_size: nullopt, or 400 naming "prompt" / "stop_token_ids".
std::optional<ApiError> check_token_ids(const OpenAiRequest& req, int vocab_size);

// 404 for a request whose `model` is not the one served (OpenAI's shape:
// type invalid_request_error, param "model", code "model_not_found").
ApiError model_not_found(std::string_view model);

// True for a body field the router must never forward (names workers, blocks,
// peers or the KV transfer): exact internal names and any name containing
// "prefill", "worker", "block", "peer" or "kv_".
bool is_internal_plane_field(std::string_view name);

}  // namespace pdserve::router
