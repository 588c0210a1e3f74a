// OpenAI-shaped error bodies, which every process returns on failure:
//   {"error": {"message": "...", "type": "...", "param": null, "code": null}}
// and the mapping from a Status to the HTTP status and error type.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/wire/http_message.h"

namespace pdserve::server {

// The error body; empty param / code become JSON null.
std::string openai_error_body(std::string_view message, std::string_view type,
                              std::string_view param = {}, std::string_view code = {});

// "invalid_request_error" for 4xx in general, "authentication_error" (401),
// "permission_error" (403), "not_found_error" (404), "rate_limit_error" (429),
// "server_error" for 5xx.
std::string_view openai_error_type(int http_status);

// A JSON response with the body above; type defaults to openai_error_type(status).
Response openai_error(int http_status, std::string_view message, std::string_view type = {},
                      std::string_view param = {});

// kInvalidArgument/kOutOfRange→400, kUnauthenticated→401, kPermissionDenied→403,
// kNotFound→404, kAlreadyExists/kAborted/kFailedPrecondition→409,
// kResourceExhausted→429, kCancelled→499, kUnimplemented→501, kUnavailable→503,
// kDeadlineExceeded→504, the rest→500. kOk→200.
int http_status_for(StatusCode code);

// openai_error(http_status_for(status.code()), status.message()).
Response error_response(const Status& status);

}  // namespace pdserve::server
