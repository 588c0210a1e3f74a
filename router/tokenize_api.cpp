#include "router/tokenize_api.h"

#include "router/internal/chat_parse.h"
#include "router/internal/json_reader.h"

namespace pdserve::router {
namespace {

using detail::FieldReader;
using detail::OrderedJson;

template <typename T, typename F>
ApiResult<T> parse_guarded(std::string_view body, const ApiLimits& limits, F fill) {
  try {
    auto parsed = detail::parse_body(body, limits.max_json_depth);
    if (!parsed.ok()) return parsed.error();
    T out;
    FieldReader r(parsed.value());
    fill(r, out);
    if (!r.ok()) return detail::api_error(r.first_error());
    return out;
  } catch (const std::exception& e) {
    return invalid_request("", std::string("the request could not be read: ") + e.what());
  }
}

}  // namespace

ApiResult<TokenizeRequest> parse_tokenize_request(std::string_view body, const ApiLimits& limits) {
  return parse_guarded<TokenizeRequest>(body, limits, [&](FieldReader& r, TokenizeRequest& t) {
    r.get_string("model", t.model);
    if (r.has("messages")) {
      t.is_chat = true;
      t.add_special_tokens = false;
      detail::read_chat_input(r, limits, /*default_add_generation_prompt=*/false, t.chat);
    } else if (r.has("prompt")) {
      r.get_string("prompt", t.prompt);
    } else {
      r.fail("prompt", "'prompt' or 'messages' is required");
    }
    r.get_bool("add_special_tokens", t.add_special_tokens);
  });
}

ApiResult<DetokenizeRequest> parse_detokenize_request(std::string_view body,
                                                      const ApiLimits& limits) {
  return parse_guarded<DetokenizeRequest>(body, limits, [&](FieldReader& r, DetokenizeRequest& d) {
    r.get_string("model", d.model);
    if (!r.has("tokens")) return r.fail("tokens", "'tokens' is required");
    const OrderedJson* a = r.get_array("tokens");
    if (!a) return;
    const std::string bad = "'tokens' must be an array of at most " +
                            std::to_string(limits.max_prompt_tokens) +
                            " non-negative 32-bit integers";
    if (a->size() > limits.max_prompt_tokens) return r.fail("tokens", bad);
    for (const OrderedJson& t : *a) {
      if (!(t.is_number_integer() || t.is_number_unsigned()) ||
          (t.is_number_unsigned() ? t.get<uint64_t>() > INT32_MAX
                                  : (t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)))
        return r.fail("tokens", bad);
      d.tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
    }
  });
}

std::string tokenize_response(const std::vector<int32_t>& tokens, int max_model_len) {
  return detail::dump({{"count", tokens.size()},
                       {"max_model_len", max_model_len},
                       {"tokens", tokens},
                       {"token_strs", nullptr}});
}

std::string detokenize_response(std::string_view prompt) {
  return detail::dump({{"prompt", std::string(prompt)}});
}

}  // namespace pdserve::router
