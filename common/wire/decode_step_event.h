// Private to common/wire: the event of a decode step, as to_json writes it,
// read without building a json value (the router reads one per token, and
// one per token and choice is most of its parsing):
//
//   {"token_ids":[7,42]}
//   {"logprobs":[{"logprob":-0.25,"top":[[7,-0.25],[9,-1.5]]}],"token_ids":[7]}
//   {"finish_reason":"length","num_prompt_tokens":12,"token_ids":[9]}   (the last)
//
// with finish_reason, logprobs, num_cached_tokens, num_prompt_tokens,
// prefill_location and stop_token_id each optional, in that (to_json's) order.
// Anything else (other fields, other spellings, values the full parser
// could refuse or read differently) is left to the full parser.
#pragma once

#include <string_view>

#include "common/wire/internal_api.h"

namespace pdserve::server::internal {

// Replaces *e (keeping its vectors' capacity) and returns true, or returns
// false (*e then holds anything) for the full parser.
bool read_decode_step_event(std::string_view text, GenerateEvent* e);

}  // namespace pdserve::server::internal
