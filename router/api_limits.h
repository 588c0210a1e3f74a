// Every bound the router's public API puts on a request, in one place (the
// router's flags set them; DESIGN.md: every input is bounded before work is
// done on it). Requests past a bound get a 400 naming the parameter.
#pragma once

#include <cstddef>

namespace pdserve::router {

struct ApiLimits {
  int max_n = 16;                      // n in [1, max_n]
  int max_stop_strings = 4;            // OpenAI's bound
  size_t max_stop_len = 256;           // bytes per stop string
  int max_stop_token_ids = 256;        // common/server validate_sampling's bound
  int max_logprobs = 20;               // completions `logprobs`, chat `top_logprobs`
  int max_messages = 4096;             // chat messages
  int max_content_parts = 1024;        // per message
  int max_prompts = 64;                // completions: prompts in one request
  int max_choices = 64;                // completions: prompts x n (generations of one request)
  size_t max_prompt_tokens = 1 << 20;  // token ids of one token-id prompt
  int max_tokens = 1 << 20;            // max_tokens / max_completion_tokens / min_tokens
  int max_json_depth = 64;             // nesting of the body (tools, kwargs)
  // Completions without max_tokens: 0 fills what the context leaves (the
  // chat rule); vLLM and OpenAI use 16 here.
  int default_completion_max_tokens = 0;
};

}  // namespace pdserve::router
