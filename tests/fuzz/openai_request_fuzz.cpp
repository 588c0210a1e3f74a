// libFuzzer target for the router's public edge: the bodies of
// /v1/completions and /v1/chat/completions, untrusted bytes from any client.
// Both parsers run on every input; the invariants trap when broken:
//   - an error is 4xx/5xx with a message, and its body is an OpenAI error
//     object (valid JSON with error.message);
//   - an accepted request respects the limits it was parsed with (prompts,
//     n, stop strings, messages), finalize_sampling either fits the prompt
//     and max_tokens into the context or says why, and the chat template
//     context built from it is a JSON object.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "router/openai_request.h"

namespace pdserve::router {
namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_error(const ApiError& e) {
  check(e.http_status >= 400 && e.http_status <= 599);
  check(!e.message.empty());
  const auto body = nlohmann::json::parse(to_error_body(e), nullptr, /*allow_exceptions=*/false);
  check(body.is_object() && body.contains("error") && body["error"].is_object());
  check(body["error"].value("message", std::string()) == e.message);
}

void check_request(const OpenAiRequest& req, const ApiLimits& limits) {
  check(req.n >= 1 && req.n <= limits.max_n);
  check(static_cast<int>(req.stop.size()) <= limits.max_stop_strings);
  for (const std::string& s : req.stop) check(!s.empty() && s.size() <= limits.max_stop_len);
  if (req.endpoint == Endpoint::kCompletions) {
    check(!req.prompts.empty() && static_cast<int>(req.prompts.size()) <= limits.max_prompts);
    for (const Prompt& p : req.prompts) {
      for (int32_t id : p.token_ids) check(id >= 0);
    }
  } else {
    check(req.chat.num_messages <= limits.max_messages);
    for (ContentFormat format : {ContentFormat::kString, ContentFormat::kOpenAi}) {
      const auto context = nlohmann::json::parse(
          build_template_context(req.chat, R"({"bos_token": "<s>", "eos_token": "</s>"})", format),
          nullptr, /*allow_exceptions=*/false);
      check(context.is_object() && context.contains("messages"));
      for (const auto& m : context["messages"])
        check(format == ContentFormat::kString ? m["content"].is_string()
                                               : m["content"].is_array());
      auto cut = cut_after_final_message(req.chat.messages_json, req.chat, format);
      if (!cut.ok()) check_error(cut.error());
    }
  }
  constexpr int kMaxModelLen = 2048;
  for (int prompt_tokens : {1, 2047, 4096}) {
    auto s = finalize_sampling(req, prompt_tokens, kMaxModelLen);
    if (s.ok()) {
      check(s->max_tokens >= 1 && prompt_tokens + s->max_tokens <= kMaxModelLen);
    } else {
      check_error(s.error());
    }
  }
  if (auto e = check_token_ids(req, 1000)) check_error(*e);
  (void)choice_sampling(req.sampling, req.n - 1);
}

}  // namespace
}  // namespace pdserve::router

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pdserve::router;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ApiLimits limits;
  limits.max_prompt_tokens = 4096;  // keep single inputs cheap
  for (bool chat : {false, true}) {
    auto r = chat ? parse_chat_request(body, limits) : parse_completion_request(body, limits);
    if (r.ok()) {
      check_request(r.value(), limits);
    } else {
      check_error(r.error());
    }
  }
  return 0;
}
