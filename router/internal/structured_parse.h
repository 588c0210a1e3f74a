// Private to router/*.cpp: reads the structured-output fields of a body
// into OpenAiRequest::sampling.constraint, checking each constraint the way
// the workers will compile it (structured::build_grammar), so an invalid or
// unsupported schema, regex or grammar is a 400 naming its field.
//
//   response_format     {"type": "text" | "json_object" | "json_schema",
//                        "json_schema": {"name", "schema", "strict"}}
//   structured_outputs  {"json" | "regex" | "choice" | "grammar" | "json_object"} (vLLM)
//   guided_json, guided_regex, guided_choice, guided_grammar (vLLM, older)
//   tool_choice         "required" or a named function (chat, with tools)
//
// At most one constraint per request; structural_tag is refused.
#pragma once

#include "router/internal/json_reader.h"
#include "router/openai_request.h"

namespace pdserve::router::detail {

// Both endpoints: response_format, structured_outputs, guided_*.
void read_output_constraint(FieldReader& r, OpenAiRequest& q);
// Chat, after read_chat_input: tools and tool_choice into q.tool_use (and a
// constraint for "required" and a named function).
void read_tool_use(FieldReader& r, OpenAiRequest& q);

}  // namespace pdserve::router::detail
