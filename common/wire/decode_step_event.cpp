#include "common/wire/decode_step_event.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace pdserve::server::internal {
namespace {

constexpr size_t kMaxTokens = size_t{1} << 20;  // as the full parser
constexpr double kMaxLogprob = 3.4e38;          // the full parser's bound of "logprob"

// Reads the text front to back; every method consumes what it read, or
// nothing and false.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : rest_(text) {}

  bool at_end() const { return rest_.empty(); }

  bool eat(std::string_view literal) {
    if (!rest_.starts_with(literal)) return false;
    rest_.remove_prefix(literal.size());
    return true;
  }

  // A token id as the full parser takes it unchanged: digits, no leading
  // zero, at most INT32_MAX.
  bool token_id(int32_t* out) {
    int64_t id = 0;
    size_t n = 0;
    for (; n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9' && n <= 10; ++n)
      id = id * 10 + (rest_[n] - '0');
    if (n == 0 || n > 10 || (n > 1 && rest_[0] == '0') || id > INT32_MAX) return false;
    *out = static_cast<int32_t>(id);
    rest_.remove_prefix(n);
    return true;
  }

  // A string of lower-case letters and '_' ("length", "remote"), no escapes:
  // the same string to the full parser.
  bool word(std::string* out) {
    size_t n = 1;
    if (rest_.empty() || rest_[0] != '"') return false;
    while (n < rest_.size() && ((rest_[n] >= 'a' && rest_[n] <= 'z') || rest_[n] == '_')) ++n;
    if (n >= rest_.size() || rest_[n] != '"') return false;
    out->assign(rest_.substr(1, n - 1));
    rest_.remove_prefix(n + 1);
    return true;
  }

  // A JSON number with a fraction or an exponent, as to_json writes a float:
  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, finite and within
  // +-kMaxLogprob, as the float the full parser makes of it (the double
  // correctly rounded, then cast). An integer ("-0" is 0 there) is left to it.
  bool logprob(float* out) {
    size_t n = 0;
    bool integer = true;
    auto digits = [&] {
      const size_t start = n;
      while (n < rest_.size() && rest_[n] >= '0' && rest_[n] <= '9') ++n;
      return n > start;
    };
    if (n < rest_.size() && rest_[n] == '-') ++n;
    if (n < rest_.size() && rest_[n] == '0') {
      ++n;
    } else if (!digits()) {
      return false;
    }
    if (n < rest_.size() && rest_[n] == '.') {
      ++n;
      integer = false;
      if (!digits()) return false;
    }
    if (n < rest_.size() && (rest_[n] == 'e' || rest_[n] == 'E')) {
      ++n;
      integer = false;
      if (n < rest_.size() && (rest_[n] == '+' || rest_[n] == '-')) ++n;
      if (!digits()) return false;
    }
    if (integer) return false;
    double d = 0;
    auto [end, ec] = std::from_chars(rest_.data(), rest_.data() + n, d);
    if (ec != std::errc() || end != rest_.data() + n || !std::isfinite(d) ||
        std::fabs(d) > kMaxLogprob)
      return false;
    *out = static_cast<float>(d);
    rest_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view rest_;
};

// {"logprob":F,"top":[[I,F],...]}
bool read_token_logprobs(Cursor& c, TokenLogprobs* t) {
  if (!c.eat("{\"logprob\":") || !c.logprob(&t->logprob) || !c.eat(",\"top\":[")) return false;
  if (!c.eat("]")) {
    do {
      protocol::TokenLogprob top;
      if (!c.eat("[") || !c.token_id(&top.token_id) || !c.eat(",") || !c.logprob(&top.logprob) ||
          !c.eat("]"))
        return false;
      t->top.push_back(top);
    } while (c.eat(","));
    if (!c.eat("]")) return false;
  }
  return c.eat("}");
}

}  // namespace

bool read_decode_step_event(std::string_view text, GenerateEvent* e) {
  Cursor c(text);
  e->token_ids.clear();
  e->logprobs.clear();
  e->finish_reason.clear();
  e->stop_token_id.reset();
  e->num_prompt_tokens = 0;
  e->num_cached_tokens = 0;
  e->prefill_location.clear();
  e->error.reset();
  // Every field but token_ids is optional; each is followed by a comma.
  int32_t number = 0;
  if (!c.eat("{")) return false;
  if (c.eat("\"finish_reason\":") && !(c.word(&e->finish_reason) && c.eat(","))) return false;
  if (c.eat("\"logprobs\":[")) {
    if (!c.eat("]")) {
      do {
        if (!read_token_logprobs(c, &e->logprobs.emplace_back())) return false;
      } while (c.eat(","));
      if (!c.eat("]")) return false;
    }
    if (!c.eat(",")) return false;
  }
  if (c.eat("\"num_cached_tokens\":")) {
    if (!c.token_id(&number) || !c.eat(",")) return false;
    e->num_cached_tokens = number;
  }
  if (c.eat("\"num_prompt_tokens\":")) {
    if (!c.token_id(&number) || !c.eat(",")) return false;
    e->num_prompt_tokens = number;
  }
  if (c.eat("\"prefill_location\":") && !(c.word(&e->prefill_location) && c.eat(","))) return false;
  if (c.eat("\"stop_token_id\":")) {
    if (!c.token_id(&number) || !c.eat(",")) return false;
    e->stop_token_id = number;
  }
  if (!c.eat("\"token_ids\":[")) return false;
  if (!c.eat("]")) {
    do {
      if (!c.token_id(&e->token_ids.emplace_back())) return false;
    } while (c.eat(","));
    if (!c.eat("]")) return false;
  }
  return c.eat("}") && c.at_end() && e->token_ids.size() <= kMaxTokens;
}

}  // namespace pdserve::server::internal
