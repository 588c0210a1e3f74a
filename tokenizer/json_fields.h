// tokenizer.json's fields, read with the one JSON reader
// (common/json/json_reader.h) and named in messages by their path:
// `tokenizer.json: normalizer.prepend must be a string, got 3`.
// Private to tokenizer/*.cpp: it carries nlohmann::json.
#pragma once

#include <string>

#include "common/json/json_reader.h"

namespace pdserve::tokenizer {

using json_reader::Json;

inline json_reader::FieldReader fields(const Json& obj, std::string path) {
  return json_reader::FieldReader(obj, {"tokenizer.json", 0, true}, std::move(path));
}

}  // namespace pdserve::tokenizer
