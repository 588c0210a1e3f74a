#include "router/internal/json_reader.h"

namespace pdserve::router::detail {

ApiResult<OrderedJson> parse_body(std::string_view body, int max_depth) {
  json_reader::BasicParsed<OrderedJson> p = json_reader::parse_ordered(body, max_depth);
  if (p.too_deep) {
    return invalid_request(
        "", "the request body is nested deeper than " + std::to_string(max_depth) + " levels");
  }
  if (!p.value) return invalid_request("", "the request body is not valid JSON");
  if (!p.value->is_object()) return invalid_request("", "the request body must be a JSON object");
  return std::move(*p.value);
}

ApiError api_error(const json_reader::FieldError& e) {
  return invalid_request(e.field, e.message);
}

}  // namespace pdserve::router::detail
