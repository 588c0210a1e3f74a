#include "common/wire/internal_api.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace pdserve::server::internal {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxTokens = size_t{1} << 20;

// Reads fields of one JSON object, remembering the first problem.
class Reader {
 public:
  Reader(const json& j, std::string where) : j_(j), where_(std::move(where)) {
    if (!j_.is_object()) fail("", "must be an object");
  }
  bool has(const char* k) const { return j_.is_object() && j_.contains(k) && !j_[k].is_null(); }

  template <typename T>
  void get(const char* k, T& out, bool required = false) {
    if (!status_.ok()) return;
    if (!has(k)) {
      if (required) fail(k, "is required");
      return;
    }
    try {
      out = j_[k].get<T>();
    } catch (const json::exception&) {
      fail(k, "has the wrong type");
    }
  }
  void tokens(const char* k, std::vector<int32_t>& out, bool required) {
    if (!status_.ok()) return;
    if (!has(k)) {
      if (required) fail(k, "is required");
      return;
    }
    const json& a = j_[k];
    if (!a.is_array()) return fail(k, "must be an array of token ids");
    if (a.size() > kMaxTokens) return fail(k, "has more than " + std::to_string(kMaxTokens) + " tokens");
    out.clear();
    for (const json& t : a) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
        return fail(k, "must hold non-negative 32-bit token ids");
      out.push_back(t.get<int32_t>());
    }
  }
  const json& sub(const char* k) const { return j_[k]; }
  void fail(const std::string& k, const std::string& what) {
    if (status_.ok()) status_ = invalid_argument(where_ + (k.empty() ? "" : "." + k) + " " + what);
  }
  void merge(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
  }
  const Status& status() const { return status_; }

 private:
  const json& j_;
  std::string where_;
  Status status_;
};

Result<json> parse_object(std::string_view text, const char* what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return invalid_argument(std::string(what) + ": body is not valid JSON");
  if (!j.is_object()) return invalid_argument(std::string(what) + ": body must be a JSON object");
  if (j.contains("version") && j["version"] != kVersion)
    return invalid_argument(std::string(what) + ": internal API version " + j["version"].dump() + " (this is " +
                            std::to_string(kVersion) + ")");
  return j;
}

json sampling_json(const protocol::SamplingParams& p) {
  json j = {{"temperature", p.temperature},
            {"top_k", p.top_k},
            {"top_p", p.top_p},
            {"min_p", p.min_p},
            {"repetition_penalty", p.repetition_penalty},
            {"presence_penalty", p.presence_penalty},
            {"frequency_penalty", p.frequency_penalty},
            {"num_logprobs", p.num_logprobs},
            {"max_tokens", p.max_tokens},
            {"min_tokens", p.min_tokens},
            {"ignore_eos", p.ignore_eos},
            {"stop_token_ids", p.stop_token_ids}};
  if (p.seed) j["seed"] = *p.seed;
  return j;
}

Status read_sampling(const json& j, const std::string& where, protocol::SamplingParams& p) {
  Reader r(j, where);
  r.get("temperature", p.temperature);
  r.get("top_k", p.top_k);
  r.get("top_p", p.top_p);
  r.get("min_p", p.min_p);
  r.get("repetition_penalty", p.repetition_penalty);
  r.get("presence_penalty", p.presence_penalty);
  r.get("frequency_penalty", p.frequency_penalty);
  r.get("num_logprobs", p.num_logprobs);
  r.get("max_tokens", p.max_tokens, true);
  r.get("min_tokens", p.min_tokens);
  r.get("ignore_eos", p.ignore_eos);
  r.tokens("stop_token_ids", p.stop_token_ids, false);
  if (r.has("seed")) {
    uint64_t seed = 0;
    r.get("seed", seed);
    p.seed = seed;
  }
  PD_RETURN_IF_ERROR(r.status());
  return validate_sampling(p).with_context(where);
}

json error_json(const ErrorInfo& e) {
  return {{"http_status", e.http_status}, {"message", e.message}, {"type", e.type}};
}

Status read_error(const json& j, ErrorInfo& e) {
  Reader r(j, "error");
  r.get("http_status", e.http_status, true);
  r.get("message", e.message, true);
  r.get("type", e.type);
  return r.status();
}

json top_json(const std::vector<protocol::TokenLogprob>& top) {
  json a = json::array();
  for (const auto& t : top) a.push_back({t.token_id, t.logprob});
  return a;
}

Status read_top(const json& a, std::vector<protocol::TokenLogprob>& top) {
  if (!a.is_array()) return invalid_argument("top logprobs must be an array");
  for (const json& p : a) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number_integer() || !p[1].is_number())
      return invalid_argument("top logprobs entries must be [token_id, logprob]");
    top.push_back({p[0].get<int32_t>(), p[1].get<float>()});
  }
  return ok_status();
}

Status read_address(const json& j, const std::string& where, WorkerAddress& a) {
  Reader r(j, where);
  r.get("host", a.host, true);
  r.get("port", a.port, true);
  if (r.status().ok() && (a.host.empty() || a.port == 0)) r.fail("", "needs a host and a non-zero port");
  return r.status();
}

}  // namespace

Status validate_sampling(const protocol::SamplingParams& p) {
  auto bad = [](const std::string& m) { return invalid_argument(m); };
  if (!std::isfinite(p.temperature) || p.temperature < 0 || p.temperature > 100)
    return bad("temperature must be in [0, 100]");
  if (p.top_k < 0) return bad("top_k must be >= 0 (0: off)");
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad("top_p must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) return bad("min_p must be in [0, 1]");
  if (!(p.repetition_penalty > 0 && p.repetition_penalty <= 10)) return bad("repetition_penalty must be in (0, 10]");
  if (!(p.presence_penalty >= -2 && p.presence_penalty <= 2)) return bad("presence_penalty must be in [-2, 2]");
  if (!(p.frequency_penalty >= -2 && p.frequency_penalty <= 2)) return bad("frequency_penalty must be in [-2, 2]");
  if (p.num_logprobs < -1 || p.num_logprobs > 20) return bad("num_logprobs must be in [-1, 20]");
  if (p.max_tokens < 1 || p.max_tokens > static_cast<int>(kMaxTokens)) return bad("max_tokens must be >= 1");
  if (p.min_tokens < 0 || p.min_tokens > p.max_tokens) return bad("min_tokens must be in [0, max_tokens]");
  if (p.stop_token_ids.size() > 256) return bad("at most 256 stop_token_ids");
  return ok_status();
}

std::string to_json(const GenerateRequest& r) {
  json j = {{"version", kVersion},     {"request_id", r.request_id},  {"prompt_ids", r.prompt_ids},
            {"sampling", sampling_json(r.sampling)}, {"cache_salt", r.cache_salt}, {"priority", r.priority},
            {"prefill_mode", r.prefill_mode}};
  if (r.prefill) j["prefill"] = {{"host", r.prefill->host}, {"port", r.prefill->port}};
  return j.dump();
}

Result<GenerateRequest> parse_generate_request(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "generate request"));
  GenerateRequest g;
  Reader r(j, "generate");
  r.get("request_id", g.request_id, true);
  r.tokens("prompt_ids", g.prompt_ids, true);
  r.get("cache_salt", g.cache_salt);
  r.get("priority", g.priority);
  r.get("prefill_mode", g.prefill_mode);
  if (!r.has("sampling")) r.fail("sampling", "is required");
  PD_RETURN_IF_ERROR(r.status());
  PD_RETURN_IF_ERROR(read_sampling(j["sampling"], "generate.sampling", g.sampling));
  if (g.request_id.empty()) return invalid_argument("generate.request_id must not be empty");
  if (g.prompt_ids.empty()) return invalid_argument("generate.prompt_ids must not be empty");
  if (g.prefill_mode != "auto" && g.prefill_mode != "remote" && g.prefill_mode != "local")
    return invalid_argument("generate.prefill_mode must be auto, remote or local");
  if (r.has("prefill")) {
    WorkerAddress a;
    PD_RETURN_IF_ERROR(read_address(j["prefill"], "generate.prefill", a));
    g.prefill = a;
  }
  return g;
}

std::string to_json(const GenerateEvent& e) {
  json j = {{"token_ids", e.token_ids}};
  if (!e.logprobs.empty()) {
    json lps = json::array();
    for (const auto& lp : e.logprobs) lps.push_back({{"logprob", lp.logprob}, {"top", top_json(lp.top)}});
    j["logprobs"] = std::move(lps);
  }
  if (!e.finish_reason.empty()) j["finish_reason"] = e.finish_reason;
  if (e.stop_token_id) j["stop_token_id"] = *e.stop_token_id;
  if (e.num_prompt_tokens) j["num_prompt_tokens"] = e.num_prompt_tokens;
  if (e.num_cached_tokens) j["num_cached_tokens"] = e.num_cached_tokens;
  if (!e.prefill_location.empty()) j["prefill_location"] = e.prefill_location;
  if (e.error) j["error"] = error_json(*e.error);
  return j.dump();
}

Result<GenerateEvent> parse_generate_event(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "generate event"));
  GenerateEvent e;
  Reader r(j, "event");
  r.tokens("token_ids", e.token_ids, false);
  r.get("finish_reason", e.finish_reason);
  if (r.has("stop_token_id")) {
    int32_t t = 0;
    r.get("stop_token_id", t);
    e.stop_token_id = t;
  }
  r.get("num_prompt_tokens", e.num_prompt_tokens);
  r.get("num_cached_tokens", e.num_cached_tokens);
  r.get("prefill_location", e.prefill_location);
  PD_RETURN_IF_ERROR(r.status());
  if (j.contains("logprobs")) {
    if (!j["logprobs"].is_array()) return invalid_argument("event.logprobs must be an array");
    for (const json& lp : j["logprobs"]) {
      TokenLogprobs t;
      Reader lr(lp, "event.logprobs[]");
      lr.get("logprob", t.logprob, true);
      PD_RETURN_IF_ERROR(lr.status());
      if (lp.contains("top")) PD_RETURN_IF_ERROR(read_top(lp["top"], t.top));
      e.logprobs.push_back(std::move(t));
    }
  }
  if (j.contains("error")) {
    ErrorInfo err;
    PD_RETURN_IF_ERROR(read_error(j["error"], err));
    e.error = err;
  }
  return e;
}

std::string to_json(const PrefillRequest& r) {
  const KvTarget& t = r.target;
  return json{{"version", kVersion},
              {"request_id", r.request_id},
              {"prompt_ids", r.prompt_ids},
              {"sampling", sampling_json(r.sampling)},
              {"cache_salt", r.cache_salt},
              {"deadline_ms", r.deadline_ms},
              {"target",
               {{"agent_metadata", t.agent_metadata},
                {"compat_key", t.compat_key},
                {"layer_regions", t.layer_regions},
                {"block_bytes", t.block_bytes},
                {"block_ids", t.block_ids},
                {"first_block", t.first_block},
                {"epoch", t.epoch}}}}
      .dump();
}

Result<PrefillRequest> parse_prefill_request(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "prefill request"));
  PrefillRequest p;
  Reader r(j, "prefill");
  r.get("request_id", p.request_id, true);
  r.tokens("prompt_ids", p.prompt_ids, true);
  r.get("cache_salt", p.cache_salt);
  r.get("deadline_ms", p.deadline_ms);
  if (!r.has("sampling")) r.fail("sampling", "is required");
  if (!r.has("target")) r.fail("target", "is required");
  PD_RETURN_IF_ERROR(r.status());
  PD_RETURN_IF_ERROR(read_sampling(j["sampling"], "prefill.sampling", p.sampling));
  Reader t(j["target"], "prefill.target");
  t.get("agent_metadata", p.target.agent_metadata, true);
  t.get("compat_key", p.target.compat_key, true);
  t.get("layer_regions", p.target.layer_regions, true);
  t.get("block_bytes", p.target.block_bytes, true);
  t.tokens("block_ids", p.target.block_ids, true);
  t.get("first_block", p.target.first_block);
  t.get("epoch", p.target.epoch);
  PD_RETURN_IF_ERROR(t.status());
  if (p.request_id.empty()) return invalid_argument("prefill.request_id must not be empty");
  if (p.prompt_ids.empty()) return invalid_argument("prefill.prompt_ids must not be empty");
  if (p.target.first_block < 0 || p.target.first_block > static_cast<int>(p.target.block_ids.size()))
    return invalid_argument("prefill.target.first_block outside block_ids");
  if (p.target.block_bytes == 0 || p.target.layer_regions.empty())
    return invalid_argument("prefill.target needs block_bytes and layer_regions");
  return p;
}

std::string to_json(const PrefillResponse& r) {
  json j = {{"version", kVersion},
            {"token_id", r.first_token.token_id},
            {"logprob", r.first_token.logprob},
            {"top", top_json(r.first_token.top)},
            {"num_cached_tokens", r.num_cached_tokens},
            {"bytes_transferred", r.bytes_transferred}};
  if (r.error) j["error"] = error_json(*r.error);
  return j.dump();
}

Result<PrefillResponse> parse_prefill_response(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "prefill response"));
  PrefillResponse p;
  if (j.contains("error")) {
    ErrorInfo e;
    PD_RETURN_IF_ERROR(read_error(j["error"], e));
    p.error = e;
    return p;
  }
  Reader r(j, "prefill response");
  r.get("token_id", p.first_token.token_id, true);
  r.get("logprob", p.first_token.logprob);
  r.get("num_cached_tokens", p.num_cached_tokens);
  r.get("bytes_transferred", p.bytes_transferred);
  PD_RETURN_IF_ERROR(r.status());
  if (j.contains("top")) PD_RETURN_IF_ERROR(read_top(j["top"], p.first_token.top));
  return p;
}

std::string to_json(const WorkerState& s) {
  json events = json::array();
  for (const auto& e : s.events) events.push_back({{"stored", e.stored}, {"hash", e.block_hash}});
  json j = {{"version", kVersion},
            {"role", s.role},
            {"model", s.model},
            {"block_size", s.block_size},
            {"load",
             {{"num_waiting", s.load.num_waiting},
              {"num_running", s.load.num_running},
              {"num_free_blocks", s.load.num_free_blocks},
              {"num_total_blocks", s.load.num_total_blocks}}},
            {"event_cursor", s.event_cursor},
            {"events", events},
            {"events_truncated", s.events_truncated}};
  if (s.events_truncated) j["cached"] = s.cached;
  return j.dump();
}

Result<WorkerState> parse_worker_state(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "worker state"));
  WorkerState s;
  Reader r(j, "state");
  r.get("role", s.role, true);
  r.get("model", s.model);
  r.get("block_size", s.block_size);
  r.get("event_cursor", s.event_cursor);
  r.get("events_truncated", s.events_truncated);
  r.get("cached", s.cached);
  PD_RETURN_IF_ERROR(r.status());
  if (j.contains("load")) {
    Reader l(j["load"], "state.load");
    l.get("num_waiting", s.load.num_waiting);
    l.get("num_running", s.load.num_running);
    l.get("num_free_blocks", s.load.num_free_blocks);
    l.get("num_total_blocks", s.load.num_total_blocks);
    PD_RETURN_IF_ERROR(l.status());
  }
  if (j.contains("events")) {
    if (!j["events"].is_array()) return invalid_argument("state.events must be an array");
    for (const json& e : j["events"]) {
      KvCacheEvent ev;
      Reader er(e, "state.events[]");
      er.get("stored", ev.stored, true);
      er.get("hash", ev.block_hash, true);
      PD_RETURN_IF_ERROR(er.status());
      s.events.push_back(ev);
    }
  }
  return s;
}

std::string to_json(const Registration& r) {
  return json{{"version", kVersion},
              {"role", r.role},
              {"model", r.model},
              {"address", {{"host", r.address.host}, {"port", r.address.port}}}}
      .dump();
}

Result<Registration> parse_registration(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "registration"));
  Registration g;
  Reader r(j, "registration");
  r.get("role", g.role, true);
  r.get("model", g.model);
  if (!r.has("address")) r.fail("address", "is required");
  PD_RETURN_IF_ERROR(r.status());
  if (g.role != "prefill" && g.role != "decode") return invalid_argument("registration.role must be prefill or decode");
  PD_RETURN_IF_ERROR(read_address(j["address"], "registration.address", g.address));
  return g;
}

}  // namespace pdserve::server::internal
