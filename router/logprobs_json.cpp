#include "router/internal/logprobs_json.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/detail/conversions/to_chars.hpp>
#include <string_view>
#include <utility>

#include "router/internal/json_text.h"
#include "tokenizer/utf8.h"

namespace pdserve::router::detail {
namespace {

// Replaces invalid UTF-8 sequences by U+FFFD (via nlohmann's replace handler).
std::string valid_utf8(const std::string& s) {
  if (tokenizer::is_valid_utf8(s)) return s;
  std::string quoted = json(s).dump(-1, ' ', false, json::error_handler_t::replace);
  return json::parse(quoted).get<std::string>();
}

// As nlohmann writes the double: shortest round trip, "-9999.0" for -inf / NaN.
void append_logprob(std::string& out, float lp) {
  const double v = std::isfinite(lp) ? static_cast<double>(lp) : -9999.0;
  char buf[64];
  const char* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, static_cast<size_t>(end - buf));
}

void append_bytes(std::string& out, const std::string& token) {
  out.push_back('[');
  for (size_t i = 0; i < token.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(static_cast<unsigned char>(token[i]));
  }
  out.push_back(']');
}

// [a,b,c] with each element written by fn.
template <typename T, typename Fn>
void append_array(std::string& out, const std::vector<T>& items, Fn fn) {
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    fn(items[i]);
  }
  out.push_back(']');
}

// {token: logprob}: the first of equal tokens wins, keys sorted (a json object's order).
void append_top_object(std::string& out, const std::vector<TopLogprob>& top) {
  std::vector<std::pair<std::string, float>> keys;
  for (const TopLogprob& e : top) {
    std::string key = valid_utf8(e.token);
    if (std::none_of(keys.begin(), keys.end(), [&](const auto& k) { return k.first == key; }))
      keys.emplace_back(std::move(key), e.logprob);
  }
  std::stable_sort(keys.begin(), keys.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  out.push_back('{');
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out.push_back(',');
    append_json_string(out, keys[i].first);
    out.push_back(':');
    append_logprob(out, keys[i].second);
  }
  out.push_back('}');
}

// {"bytes", "logprob", "token"} and, for a sampled token, "top_logprobs".
void append_chat_entry(std::string& out, const std::string& token, float logprob,
                       const std::vector<TopLogprob>* top) {
  out += "{\"bytes\":";
  append_bytes(out, token);
  out += ",\"logprob\":";
  append_logprob(out, logprob);
  out += ",\"token\":";
  append_json_string(out, token);
  if (top != nullptr) {
    out += ",\"top_logprobs\":";
    append_array(out, *top,
                 [&](const TopLogprob& e) { append_chat_entry(out, e.token, e.logprob, nullptr); });
  }
  out.push_back('}');
}

}  // namespace

json token_json(const std::string& token) {
  return valid_utf8(token);
}

void append_completion_logprobs(std::string& out, const std::vector<TokenLogprobInfo>& lps,
                                int first_offset) {
  int offset = first_offset;
  out += "{\"text_offset\":";
  append_array(out, lps, [&](const TokenLogprobInfo& t) {
    out += std::to_string(offset);
    offset += static_cast<int>(t.token.size());
  });
  out += ",\"token_logprobs\":";
  append_array(out, lps, [&](const TokenLogprobInfo& t) { append_logprob(out, t.logprob); });
  out += ",\"tokens\":";
  append_array(out, lps, [&](const TokenLogprobInfo& t) { append_json_string(out, t.token); });
  out += ",\"top_logprobs\":";
  append_array(out, lps, [&](const TokenLogprobInfo& t) { append_top_object(out, t.top); });
  out.push_back('}');
}

void append_chat_logprobs(std::string& out, const std::vector<TokenLogprobInfo>& lps) {
  out += "{\"content\":";
  append_array(out, lps, [&](const TokenLogprobInfo& t) {
    append_chat_entry(out, t.token, t.logprob, &t.top);
  });
  out.push_back('}');
}

}  // namespace pdserve::router::detail
