// Private to router/*.cpp (never included by a public header): request
// bodies are read with the one JSON reader (common/json/json_reader.h,
// Naming::request(): fields 'quoted', wrong types shown by type name), and
// its first problem becomes an OpenAI-shaped 400 naming the field.
//
// A body is an OrderedJson: every part of it keeps the client's key order on
// its way to the chat template (tools, messages, chat_template_kwargs) and to
// the constrained decoder (a schema's properties are generated in that
// order), as Python's dicts keep it for vLLM and transformers. What the
// router writes back is a json (keys sorted).
#pragma once

#include <string_view>

#include "common/json/json_reader.h"
#include "router/api_error.h"

namespace pdserve::router::detail {

using json = json_reader::Json;
using json_reader::dump;
using json_reader::OrderedJson;
using FieldReader = json_reader::OrderedFieldReader;
using json_reader::type_name;

// 400 when the body is not JSON, is nested deeper than max_depth, or is not an object.
ApiResult<OrderedJson> parse_body(std::string_view body, int max_depth);

// A reader's first problem as a 400 whose param is the field.
ApiError api_error(const json_reader::FieldError& e);

}  // namespace pdserve::router::detail
