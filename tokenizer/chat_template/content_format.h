// Which shape of message content a parsed template expects, found as vLLM
// finds it (`--chat-template-content-format auto`): a template that loops
// over a message's content, `{% for part in message['content'] %}`, wants
// the list of parts ("openai"); any other wants one string ("string").
//
// Found like vLLM's _detect_content_format on the syntax tree: the names
// that hold `messages` (set from it, its slices, filters or tests over it),
// the loop variables over those (a message), then a loop over
// `message['content']` or `message.content` (or a filter, test or slice of
// it). Beyond vLLM, also "openai": a loop over a name set from a message's
// content, and content indexed by an integer (`message.content[0].text`,
// `messages[0]['content'][0]['text']`), where `messages[N]` counts as a
// message too. Names are matched without scopes, as vLLM does.
#pragma once

#include "tokenizer/chat_template/ast.h"
#include "tokenizer/chat_template/chat_template.h"

namespace pdserve::chat_template {

ContentFormat detect_content_format(const Body& body);

}  // namespace pdserve::chat_template
