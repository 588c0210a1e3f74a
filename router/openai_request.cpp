#include "router/openai_request.h"

#include <algorithm>
#include <array>

#include "common/wire/internal_api.h"
#include "router/internal/chat_parse.h"
#include "router/internal/json_reader.h"
#include "router/internal/structured_parse.h"

namespace pdserve::router {
namespace {

using detail::FieldReader;
using detail::OrderedJson;
using detail::read_output_constraint;

constexpr std::array<std::string_view, 14> kInternalFields = {
    "prefill",        "prefill_mode",       "block_ids",     "kv_target",
    "target",         "kv_transfer_params", "peer",          "peers",
    "agent_metadata", "compat_key",         "layer_regions", "first_block",
    "epoch",          "request_id"};

// Token ids of one prompt: an array of non-negative 32-bit integers.
bool read_token_ids(const OrderedJson& a, size_t max_len, std::vector<int32_t>& out) {
  if (!a.is_array() || a.size() > max_len) return false;
  out.reserve(a.size());
  for (const OrderedJson& t : a) {
    if (!t.is_number_integer() && !t.is_number_unsigned()) return false;
    if (t.is_number_unsigned() ? t.get<uint64_t>() > INT32_MAX
                               : (t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX))
      return false;
    out.push_back(static_cast<int32_t>(t.get<int64_t>()));
  }
  return true;
}

bool is_token_array(const OrderedJson& a) {
  return a.is_array() && !a.empty() && (a[0].is_number_integer() || a[0].is_number_unsigned());
}

void read_prompts(FieldReader& r, const OrderedJson& body, const ApiLimits& limits,
                  std::vector<Prompt>& prompts) {
  auto it = body.find("prompt");
  if (it == body.end() || it->is_null()) return r.fail("prompt", "'prompt' is required");
  const OrderedJson& p = *it;
  const std::string ids_err = "'prompt' token ids must be non-negative 32-bit integers, at most " +
                              std::to_string(limits.max_prompt_tokens) + " per prompt";
  auto add_tokens = [&](const OrderedJson& a) {
    Prompt pr;
    pr.is_tokens = true;
    if (!read_token_ids(a, limits.max_prompt_tokens, pr.token_ids))
      return r.fail("prompt", ids_err);
    if (pr.token_ids.empty()) return r.fail("prompt", "'prompt' must not be empty");
    prompts.push_back(std::move(pr));
  };
  auto add_text = [&](const OrderedJson& s) {
    if (s.get_ref<const std::string&>().empty())
      return r.fail("prompt", "'prompt' must not be empty");
    prompts.push_back(Prompt{false, s.get<std::string>(), {}});
  };
  if (p.is_string()) return add_text(p);
  if (!p.is_array())
    return r.fail("prompt",
                  "'prompt' must be a string, an array of strings, an array of token "
                  "ids or an array of arrays of token ids, got " +
                      std::string(detail::type_name(p)));
  if (p.empty()) return r.fail("prompt", "'prompt' must not be empty");
  if (is_token_array(p)) return add_tokens(p);
  if (p.size() > static_cast<size_t>(limits.max_prompts))
    return r.fail("prompt",
                  "'prompt' holds more than " + std::to_string(limits.max_prompts) + " prompts");
  for (const OrderedJson& e : p) {
    if (!r.ok()) return;
    if (e.is_string())
      add_text(e);
    else if (e.is_array())
      add_tokens(e);
    else
      return r.fail("prompt",
                    "'prompt' arrays must hold only strings or only arrays of token "
                    "ids, got " +
                        std::string(detail::type_name(e)));
  }
  const bool mixed = std::any_of(prompts.begin(), prompts.end(), [&](const Prompt& x) {
    return x.is_tokens != prompts[0].is_tokens;
  });
  if (r.ok() && mixed) r.fail("prompt", "'prompt' arrays must not mix strings and token ids");
}

void read_stop(FieldReader& r, const ApiLimits& limits, std::vector<std::string>& stop) {
  const OrderedJson* s = r.find("stop");
  if (!r.ok() || !s) return;
  const std::string bound =
      "'stop' must be a string or an array of at most " + std::to_string(limits.max_stop_strings) +
      " non-empty strings of at most " + std::to_string(limits.max_stop_len) + " bytes";
  auto add = [&](const OrderedJson& e) {
    if (!e.is_string())
      return r.fail("stop",
                    "'stop' entries must be strings, got " + std::string(detail::type_name(e)));
    const std::string& v = e.get_ref<const std::string&>();
    if (v.empty() || v.size() > limits.max_stop_len) return r.fail("stop", bound);
    stop.push_back(v);
  };
  if (s->is_string()) return add(*s);
  if (!s->is_array()) return r.fail_type("stop", "a string or an array of strings");
  if (s->size() > static_cast<size_t>(limits.max_stop_strings)) return r.fail("stop", bound);
  for (const OrderedJson& e : *s) {
    if (!r.ok()) return;
    add(e);
  }
}

void read_stop_token_ids(FieldReader& r, const ApiLimits& limits, std::vector<int32_t>& out) {
  const OrderedJson* a = r.find("stop_token_ids");
  if (!r.ok() || !a) return;
  if (!read_token_ids(*a, static_cast<size_t>(limits.max_stop_token_ids), out))
    r.fail("stop_token_ids", "'stop_token_ids' must be an array of at most " +
                                 std::to_string(limits.max_stop_token_ids) +
                                 " non-negative 32-bit integers");
}

// Fields that would change the output: rejected, never silently ignored.
void read_unsupported(FieldReader& r, int n) {
  if (!r.ok()) return;
  if (r.has("suffix")) return r.fail("suffix", "'suffix' is not supported");
  int best_of = 1;
  r.get_int("best_of", 1, INT32_MAX, best_of);
  if (r.ok() && best_of != 1 && best_of != n)
    return r.fail("best_of", "'best_of' other than 1 or 'n' is not supported");
}

// Fields both endpoints share.
void read_shared(FieldReader& r, const OrderedJson& body, const ApiLimits& limits,
                 OpenAiRequest& q) {
  if (!r.has("model")) r.fail("model", "'model' is required");
  r.get_string("model", q.model);
  protocol::SamplingParams& s = q.sampling;
  s.max_tokens = 0;
  r.get_float("temperature", 0, 2, false, s.temperature);
  r.get_float("top_p", 0, 1, true, s.top_p);
  r.get_int("top_k", -1, INT32_MAX, s.top_k);
  if (s.top_k < 0) s.top_k = 0;
  r.get_float("min_p", 0, 1, false, s.min_p);
  r.get_float("presence_penalty", -2, 2, false, s.presence_penalty);
  r.get_float("frequency_penalty", -2, 2, false, s.frequency_penalty);
  r.get_float("repetition_penalty", 0, 10, true, s.repetition_penalty);
  std::optional<int64_t> seed;
  r.get_int("seed", INT64_MIN, INT64_MAX, seed);
  if (seed) s.seed = static_cast<uint64_t>(*seed);
  r.get_int("min_tokens", 0, limits.max_tokens, s.min_tokens);
  r.get_bool("ignore_eos", s.ignore_eos);
  read_stop_token_ids(r, limits, s.stop_token_ids);
  read_stop(r, limits, q.stop);
  r.get_int("n", 1, limits.max_n, q.n);
  r.get_bool("stream", q.stream);
  if (const OrderedJson* so = r.get_object("stream_options")) {
    if (!q.stream)
      r.fail("stream_options", "'stream_options' can only be set when 'stream' is true");
    FieldReader sr(*so, json_reader::Naming::request(), "stream_options");
    sr.get_bool("include_usage", q.include_usage);
    if (!sr.ok() && r.ok()) r.fail(sr.first_error().field, sr.first_error().message);
  }
  r.get_bool("skip_special_tokens", q.skip_special_tokens);
  r.get_bool("spaces_between_special_tokens", q.spaces_between_special_tokens);
  r.get_bool("add_special_tokens", q.add_special_tokens);
  r.get_bool("include_stop_str_in_output", q.include_stop_str_in_output);
  r.get_string("user", q.user);
  r.get_string("cache_salt", q.cache_salt);
  r.get_int("priority", INT32_MIN, INT32_MAX, q.priority);
  if (const OrderedJson* lb = r.get_object("logit_bias"); lb && !lb->empty())
    r.fail("logit_bias", "'logit_bias' is not supported");
  read_unsupported(r, q.n);
  read_output_constraint(r, q);
  for (auto it = body.begin(); it != body.end(); ++it)
    if (is_internal_plane_field(it.key())) q.dropped_fields.push_back(it.key());
}

void check_max_tokens(FieldReader& r, std::string_view key, const ApiLimits& limits,
                      std::optional<int>& out) {
  std::optional<int64_t> v;
  r.get_int(key, 1, limits.max_tokens, v);
  if (v) out = static_cast<int>(*v);
}

void check_min_tokens(FieldReader& r, const OpenAiRequest& q) {
  if (r.ok() && q.max_tokens && q.sampling.min_tokens > *q.max_tokens)
    r.fail("min_tokens", "'min_tokens' must be at most 'max_tokens' (" +
                             std::to_string(*q.max_tokens) + "), got " +
                             std::to_string(q.sampling.min_tokens));
}

template <typename F>
ApiResult<OpenAiRequest> parse_guarded(std::string_view body, const ApiLimits& limits, F fill) {
  try {
    auto parsed = detail::parse_body(body, limits.max_json_depth);
    if (!parsed.ok()) return parsed.error();
    OpenAiRequest q;
    FieldReader r(parsed.value());
    fill(parsed.value(), r, q);
    if (!r.ok()) return detail::api_error(r.first_error());
    return q;
  } catch (const std::exception& e) {
    return invalid_request("", std::string("the request could not be read: ") + e.what());
  }
}

}  // namespace

bool is_internal_plane_field(std::string_view name) {
  for (std::string_view f : kInternalFields)
    if (name == f) return true;
  for (std::string_view part : {"prefill", "worker", "block", "peer", "kv_"})
    if (name.find(part) != std::string_view::npos) return true;
  return false;
}

ApiResult<OpenAiRequest> parse_completion_request(std::string_view body, const ApiLimits& limits) {
  return parse_guarded(body, limits, [&](const OrderedJson& j, FieldReader& r, OpenAiRequest& q) {
    q.endpoint = Endpoint::kCompletions;
    read_shared(r, j, limits, q);
    if (r.ok()) read_prompts(r, j, limits, q.prompts);
    r.get_bool("echo", q.echo);
    r.get_int("logprobs", 0, limits.max_logprobs, q.sampling.num_logprobs);
    if (r.ok() && q.echo && q.sampling.num_logprobs >= 0)
      r.fail("echo", "'echo' together with 'logprobs' (prompt logprobs) is not supported");
    check_max_tokens(r, "max_tokens", limits, q.max_tokens);
    if (!q.max_tokens && limits.default_completion_max_tokens > 0)
      q.max_tokens = limits.default_completion_max_tokens;
    if (r.ok() &&
        q.prompts.size() * static_cast<size_t>(q.n) > static_cast<size_t>(limits.max_choices))
      r.fail("n", "'n' times the number of prompts (" +
                      std::to_string(q.prompts.size() * static_cast<size_t>(q.n)) +
                      ") must be at most " + std::to_string(limits.max_choices));
    check_min_tokens(r, q);
  });
}

ApiResult<OpenAiRequest> parse_chat_request(std::string_view body, const ApiLimits& limits) {
  return parse_guarded(body, limits, [&](const OrderedJson& j, FieldReader& r, OpenAiRequest& q) {
    q.endpoint = Endpoint::kChatCompletions;
    q.add_special_tokens = false;
    read_shared(r, j, limits, q);
    detail::read_chat_input(r, limits, /*default_add_generation_prompt=*/true, q.chat);
    detail::read_tool_use(r, q);
    bool logprobs = false;
    r.get_bool("logprobs", logprobs);
    int top = -1;
    r.get_int("top_logprobs", 0, limits.max_logprobs, top);
    if (r.ok() && top >= 0 && !logprobs)
      r.fail("top_logprobs", "'top_logprobs' requires 'logprobs' to be true");
    q.sampling.num_logprobs = logprobs ? std::max(top, 0) : -1;
    check_max_tokens(r, "max_tokens", limits, q.max_tokens);
    std::optional<int> mct;
    check_max_tokens(r, "max_completion_tokens", limits, mct);
    if (mct) q.max_tokens = mct;
    check_min_tokens(r, q);
  });
}

ApiResult<protocol::SamplingParams> finalize_sampling(const OpenAiRequest& req,
                                                      int num_prompt_tokens, int max_model_len) {
  const std::string param = req.endpoint == Endpoint::kChatCompletions ? "messages" : "prompt";
  protocol::SamplingParams s = req.sampling;
  if (req.max_tokens) {
    if (static_cast<int64_t>(num_prompt_tokens) + *req.max_tokens > max_model_len)
      return context_length_exceeded(max_model_len, num_prompt_tokens, *req.max_tokens, param);
    s.max_tokens = *req.max_tokens;
  } else {
    if (num_prompt_tokens >= max_model_len)
      return context_length_exceeded(max_model_len, num_prompt_tokens, -1, param);
    // validate_sampling's bound (internal_api.cpp kMaxTokens) caps a huge context.
    s.max_tokens = std::min(max_model_len - num_prompt_tokens, 1 << 20);
  }
  if (s.min_tokens > s.max_tokens)
    return invalid_request("min_tokens", "'min_tokens' must be at most the completion's " +
                                             std::to_string(s.max_tokens) + " tokens, got " +
                                             std::to_string(s.min_tokens));
  Status st = server::internal::validate_sampling(s);
  if (!st.ok()) return api_error_from_status(st);
  return s;
}

protocol::SamplingParams choice_sampling(const protocol::SamplingParams& s, int choice_idx) {
  protocol::SamplingParams out = s;
  if (out.seed) out.seed = *out.seed + static_cast<uint64_t>(choice_idx);
  return out;
}

std::optional<ApiError> check_token_ids(const OpenAiRequest& req, int vocab_size) {
  for (const Prompt& p : req.prompts)
    for (int32_t t : p.token_ids)
      if (t >= vocab_size)
        return invalid_request("prompt", "token id " + std::to_string(t) +
                                             " is out of vocabulary (the model has " +
                                             std::to_string(vocab_size) + " tokens)");
  for (int32_t t : req.sampling.stop_token_ids)
    if (t >= vocab_size)
      return invalid_request("stop_token_ids", "stop token id " + std::to_string(t) +
                                                   " is out of vocabulary (the model has " +
                                                   std::to_string(vocab_size) + " tokens)");
  return std::nullopt;
}

ApiError model_not_found(std::string_view model) {
  ApiError e = invalid_request("model", "The model '" + std::string(model) + "' does not exist.");
  e.http_status = 404;
  e.code = "model_not_found";
  return e;
}

}  // namespace pdserve::router
