// Private to router/*.cpp: the OpenAI logprobs objects.
#pragma once

#include <vector>

#include "router/internal/json_reader.h"
#include "router/openai_response.h"

namespace pdserve::router::detail {

// A logprob as JSON: -inf / NaN become -9999.0.
json logprob_json(float lp);
// A token's string as JSON (invalid UTF-8 replaced with U+FFFD).
json token_json(const std::string& token);
// {"tokens", "token_logprobs", "top_logprobs", "text_offset"}; offsets count
// bytes of the tokens' texts from first_offset.
json completion_logprobs(const std::vector<TokenLogprobInfo>& lps, int first_offset);
// {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}
json chat_logprobs(const std::vector<TokenLogprobInfo>& lps);

}  // namespace pdserve::router::detail
