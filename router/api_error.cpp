#include "router/api_error.h"

#include "common/wire/openai_error.h"

namespace pdserve::router {

ApiError invalid_request(std::string param, std::string message) {
  ApiError e;
  e.message = std::move(message);
  e.param = std::move(param);
  return e;
}

ApiError context_length_exceeded(int max_model_len, int num_prompt_tokens, int max_tokens,
                                 std::string param) {
  const std::string where = param == "messages" ? "messages" : "prompt";
  std::string m = "This model's maximum context length is " + std::to_string(max_model_len) +
                  " tokens. However, you requested ";
  if (max_tokens >= 0) {
    m += std::to_string(static_cast<int64_t>(num_prompt_tokens) + max_tokens) + " tokens (" +
         std::to_string(num_prompt_tokens) + " in the " + where + ", " +
         std::to_string(max_tokens) + " in the completion). Please reduce the length of the " +
         where + " or completion.";
  } else {
    m += std::to_string(num_prompt_tokens) + " tokens in the " + where +
         ", which leaves no room for the completion. Please reduce the length of the " + where +
         ".";
  }
  ApiError e = invalid_request(std::move(param), std::move(m));
  e.code = "context_length_exceeded";
  return e;
}

ApiError api_error_from_status(const Status& status, std::string param) {
  ApiError e;
  e.http_status = server::http_status_for(status.code());
  e.type = std::string(server::openai_error_type(e.http_status));
  e.message = status.message();
  e.param = std::move(param);
  return e;
}

ApiError worker_failure(int http_status, std::string detail) {
  ApiError e;
  e.http_status = http_status;
  switch (http_status) {
    case 400:
    case 404:
    case 413:
    case 422: e.message = std::move(detail); break;
    case 429: e.message = "the server is busy; retry later"; break;
    case 503: e.message = "no model server is available right now; retry later"; break;
    default:
      if (http_status < 500 || http_status > 599) e.http_status = 502;
      e.message = "the model server failed while handling this request";
  }
  e.type = std::string(server::openai_error_type(e.http_status));
  return e;
}

std::string to_error_body(const ApiError& e) {
  const std::string_view type =
      e.type.empty() ? server::openai_error_type(e.http_status) : std::string_view(e.type);
  return server::openai_error_body(e.message, type, e.param, e.code);
}

}  // namespace pdserve::router
