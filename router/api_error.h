// OpenAI-shaped client errors of the router's public API, and ApiResult<T>:
// either a value or an ApiError. Every parse_* of the router returns one; the
// HTTP edge writes `to_error_body(e)` with status `e.http_status`.
//
//   auto r = parse_completion_request(body, limits);
//   if (!r.ok()) return reply(r.error().http_status, to_error_body(r.error()));
//   const OpenAiRequest& req = r.value();
//
// Pure functions and plain values, thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/base/status.h"

namespace pdserve::router {

struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string
      param;  // the offending request field ("temperature", "messages[2].content"); "" → null
  std::string code;  // "" → null; "context_length_exceeded" for too-long prompts
};

// Either a T or an ApiError. value() of an error (or error() of a value)
// aborts: test ok() first.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  ApiResult(ApiError error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const ApiError& error() const { return std::get<ApiError>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  const T& operator*() const { return std::get<T>(v_); }

 private:
  std::variant<T, ApiError> v_;
};

// 400 invalid_request_error naming `param`.
ApiError invalid_request(std::string param, std::string message);

// The error vLLM returns when the prompt plus the completion do not fit:
// 400, code "context_length_exceeded", param `param` ("prompt" or "messages").
// max_tokens < 0: the request did not set one (only the prompt is too long).
ApiError context_length_exceeded(int max_model_len, int num_prompt_tokens, int max_tokens,
                                 std::string param);

// A Status as an ApiError: http status and type from common/wire/openai_error.h.
ApiError api_error_from_status(const Status& status, std::string param = {});

// What a client hears of a worker's failure (`http_status` as the worker
// answered, or as the router judged the stream). A refusal of the request
// itself (400, 404, 413, 422) keeps the worker's message; anything else gets
// a generic one, so that no internal address, setting or cause reaches the
// client: 429 and 503 (retry later) keep their status, 401 and 403 (the
// cluster token, never the client's fault) become 502, other statuses stay.
// The caller logs `detail`.
ApiError worker_failure(int http_status, std::string detail);

// {"error": {"message", "type", "param", "code"}} (common/wire/openai_error.h).
std::string to_error_body(const ApiError& e);

}  // namespace pdserve::router
