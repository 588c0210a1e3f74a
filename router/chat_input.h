// What a chat request (or a chat /tokenize request) gives the chat template,
// kept as JSON text so no JSON type crosses the header. parse_* fill it with
// normalized values: `messages_json` is an array of
//   {"role": str, "content": str | null | [{"type": "text", "text": str}, ...],
//    "name"?, "tool_calls"?, "tool_call_id"?, "reasoning_content"?}
// (a string content kept, null or absent content null, content parts as
// text parts, a refusal part included; an empty tool_calls list dropped;
// tool_calls' string `function.arguments` parsed into objects when they
// hold JSON objects, as vLLM does, because templates iterate over them).
// build_template_context() shapes each content for the template's
// ContentFormat, as vLLM does.
#pragma once

#include <string>
#include <string_view>

#include "router/api_error.h"
#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::router {

using chat_template::ContentFormat;

struct ChatInput {
  std::string messages_json = "[]";
  std::string tools_json;                 // "": none; else a JSON array
  std::string tool_choice_json;           // "": none; else a JSON string or object
  std::string chat_template_kwargs_json;  // "": none; else a JSON object
  bool add_generation_prompt = true;
  bool continue_final_message = false;
  int num_messages = 0;
};

// The context JSON object for ChatTemplate::render(), as transformers'
// apply_chat_template builds it: the tokenizer's special tokens
// (`special_tokens_json`, a JSON object: bos_token, eos_token, ...), then the
// request's chat_template_kwargs (overriding a special token of the same
// name), then "messages", "tools" and "documents" (None when absent),
// "add_generation_prompt", "continue_final_message" and "tool_choice" when
// the request had it (overriding any kwarg of the same name). Each message's
// content is shaped as vLLM shapes it for `format`: kString joins the
// non-empty text parts with "\n" (null: ""); kOpenAi gives the list of
// parts, a string as [{"type": "text", "text": ...}] (null: []). Never
// fails (the parts were validated when parsed).
std::string build_template_context(const ChatInput& chat, std::string_view special_tokens_json,
                                   ContentFormat format);

// With continue_final_message, as transformers does: the rendered prompt is
// cut right after the final message's content (stripped of surrounding
// white space; with kOpenAi its last text part), dropping the end-of-turn
// the template wrote, so that the model continues that message. Unchanged
// otherwise. 400 naming "messages" when that content does not occur in the
// rendered prompt.
ApiResult<std::string> cut_after_final_message(std::string rendered, const ChatInput& chat,
                                               ContentFormat format);

}  // namespace pdserve::router
