// /tokenize and /detokenize, shaped as vLLM's:
//   POST /tokenize   {"model"?, "prompt": str, "add_special_tokens"?: bool (default true)}
//                 or {"model"?, "messages": [...], "add_generation_prompt"?,
//                 "continue_final_message"?,
//                     "chat_template_kwargs"?, "tools"?, "add_special_tokens"?: bool (default
//                     false)}
//                 →  {"count": N, "max_model_len": M, "tokens": [...], "token_strs": null}
//   POST /detokenize {"model"?, "tokens": [ids]} → {"prompt": "..."}
// Errors as in openai_request.h. Pure functions, thread-safe, never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "router/api_error.h"
#include "router/api_limits.h"
#include "router/chat_input.h"

namespace pdserve::router {

struct TokenizeRequest {
  std::string model;  // "" when absent
  bool is_chat = false;
  std::string prompt;  // when !is_chat
  ChatInput chat;      // when is_chat (add_generation_prompt defaults to false, as vLLM)
  bool add_special_tokens = true;
};

struct DetokenizeRequest {
  std::string model;
  std::vector<int32_t> tokens;  // non-negative; the caller checks the vocabulary
};

ApiResult<TokenizeRequest> parse_tokenize_request(std::string_view body,
                                                  const ApiLimits& limits = {});
ApiResult<DetokenizeRequest> parse_detokenize_request(std::string_view body,
                                                      const ApiLimits& limits = {});

std::string tokenize_response(const std::vector<int32_t>& tokens, int max_model_len);
std::string detokenize_response(std::string_view prompt);

}  // namespace pdserve::router
