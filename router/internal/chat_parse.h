// Private to router/*.cpp: reads the chat-template part of a chat body
// (messages, tools, tool_choice, add_generation_prompt,
// continue_final_message, chat_template_kwargs) into a ChatInput. Errors go
// to the reader (first one wins).
#pragma once

#include <string_view>

#include "router/api_limits.h"
#include "router/chat_input.h"
#include "router/internal/json_reader.h"

namespace pdserve::router::detail {

// Everything keeps the client's key order (templates `tools | tojson` them,
// and Python's dicts keep that order).
void read_chat_input(FieldReader& r, const ApiLimits& limits, bool default_add_generation_prompt,
                     ChatInput& out);

}  // namespace pdserve::router::detail
