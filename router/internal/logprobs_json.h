// Private to router/*.cpp: the OpenAI logprobs objects, written as JSON text
// (router/internal/json_text.h: the bytes nlohmann's dump would write for
// the same value; a streaming chunk carries one per token).
#pragma once

#include <string>
#include <vector>

#include "router/internal/json_reader.h"
#include "router/openai_response.h"

namespace pdserve::router::detail {

// A token's string as JSON (invalid UTF-8 replaced with U+FFFD).
json token_json(const std::string& token);
// Appends {"text_offset", "token_logprobs", "tokens", "top_logprobs"};
// offsets count bytes of the tokens' texts from first_offset. Logprobs that
// are -inf or NaN are written as -9999.0.
void append_completion_logprobs(std::string& out, const std::vector<TokenLogprobInfo>& lps,
                                int first_offset);
// Appends {"content": [{"bytes", "logprob", "token", "top_logprobs": [...]}]}.
void append_chat_logprobs(std::string& out, const std::vector<TokenLogprobInfo>& lps);

}  // namespace pdserve::router::detail
