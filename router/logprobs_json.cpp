#include "router/internal/logprobs_json.h"

#include <cmath>

#include "tokenizer/utf8.h"

namespace pdserve::router::detail {
namespace {

json bytes_json(const std::string& token) {
  json b = json::array();
  for (char c : token) b.push_back(static_cast<int>(static_cast<unsigned char>(c)));
  return b;
}

// Replaces invalid UTF-8 sequences by U+FFFD (via nlohmann's replace handler).
std::string valid_utf8(const std::string& s) {
  if (tokenizer::is_valid_utf8(s)) return s;
  std::string quoted = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return json::parse(quoted).get<std::string>();
}

}  // namespace

json logprob_json(float lp) {
  if (!std::isfinite(lp)) return -9999.0;
  return static_cast<double>(lp);
}

json token_json(const std::string& token) {
  return valid_utf8(token);
}

json completion_logprobs(const std::vector<TokenLogprobInfo>& lps, int first_offset) {
  json tokens = json::array(), token_lps = json::array(), tops = json::array(),
       offsets = json::array();
  int offset = first_offset;
  for (const TokenLogprobInfo& t : lps) {
    tokens.push_back(token_json(t.token));
    token_lps.push_back(logprob_json(t.logprob));
    json top = json::object();
    for (const TopLogprob& e : t.top) {
      const std::string key = valid_utf8(e.token);
      if (!top.contains(key)) top[key] = logprob_json(e.logprob);
    }
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += static_cast<int>(t.token.size());
  }
  return {{"tokens", std::move(tokens)},
          {"token_logprobs", std::move(token_lps)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

json chat_logprobs(const std::vector<TokenLogprobInfo>& lps) {
  json content = json::array();
  for (const TokenLogprobInfo& t : lps) {
    json top = json::array();
    for (const TopLogprob& e : t.top)
      top.push_back({{"token", token_json(e.token)},
                     {"logprob", logprob_json(e.logprob)},
                     {"bytes", bytes_json(e.token)}});
    content.push_back({{"token", token_json(t.token)},
                       {"logprob", logprob_json(t.logprob)},
                       {"bytes", bytes_json(t.token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

}  // namespace pdserve::router::detail
