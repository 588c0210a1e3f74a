#include "common/wire/internal_api.h"

#include <cmath>
#include <optional>

#include "common/json/json_reader.h"
#include "common/wire/decode_step_event.h"
#include "common/wire/json_writer.h"

namespace pdserve::server::internal {
namespace {

using json = json_reader::Json;

constexpr size_t kMaxTokens = size_t{1} << 20;

constexpr int kMaxDepth = 16;

// Fields of one object of the internal API, named by their path in messages
// ("generate.sampling.top_k ..."); the first problem is kept.
json_reader::FieldReader reader(const json& j, const std::string& where) {
  json_reader::FieldReader r(j, {"", 0, false}, where);
  if (!j.is_object()) r.fail(where, where + " must be an object");
  return r;
}

void required_string(json_reader::FieldReader& r, const char* k, std::string& out) {
  r.require(k);
  r.get_string(k, out);
}

void tokens(json_reader::FieldReader& r, const char* k, std::vector<int32_t>& out, bool required) {
  if (required) r.require(k);
  const json* a = r.get_array(k);
  if (a == nullptr) return;
  if (a->size() > kMaxTokens)
    return r.fail(r.path(k),
                  r.name(k) + " has more than " + std::to_string(kMaxTokens) + " tokens");
  out.clear();
  for (const json& t : *a) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
      return r.fail(r.path(k), r.name(k) + " must hold non-negative 32-bit token ids");
    out.push_back(t.get<int32_t>());
  }
}

void uint64s(json_reader::FieldReader& r, const char* k, std::vector<uint64_t>& out) {
  const json* a = r.get_array(k);
  if (a == nullptr) return;
  out.clear();
  for (const json& v : *a) {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      return r.fail(r.path(k), r.name(k) + " must hold non-negative 64-bit integers");
    out.push_back(v.get<uint64_t>());
  }
}

Result<json> parse_object(std::string_view text, const char* what) {
  json_reader::Parsed p = json_reader::parse(text, kMaxDepth);
  if (p.too_deep)
    return invalid_argument(std::string(what) + ": body is nested deeper than " +
                            std::to_string(kMaxDepth) + " levels");
  if (!p.value) return invalid_argument(std::string(what) + ": body is not valid JSON");
  json& j = *p.value;
  if (!j.is_object()) return invalid_argument(std::string(what) + ": body must be a JSON object");
  if (j.contains("version") && j["version"] != kVersion)
    return invalid_argument(std::string(what) + ": internal API version " + j["version"].dump() +
                            " (this is " + std::to_string(kVersion) + ")");
  return std::move(j);
}

void write_sampling(JsonWriter& w, const protocol::SamplingParams& p) {
  w.begin_object();
  w.field("temperature", p.temperature);
  w.field("top_k", p.top_k);
  w.field("top_p", p.top_p);
  w.field("min_p", p.min_p);
  w.field("repetition_penalty", p.repetition_penalty);
  w.field("presence_penalty", p.presence_penalty);
  w.field("frequency_penalty", p.frequency_penalty);
  w.field("num_logprobs", p.num_logprobs);
  w.field("max_tokens", p.max_tokens);
  w.field("min_tokens", p.min_tokens);
  w.field("ignore_eos", p.ignore_eos);
  w.key("stop_token_ids");
  w.int_array(p.stop_token_ids);
  if (p.seed) w.field("seed", *p.seed);
  if (p.constraint) {
    const protocol::OutputConstraint& c = *p.constraint;
    w.key("constraint");
    w.begin_object();
    w.field("kind", protocol::constraint_kind_name(c.kind));
    w.field("text", c.text);
    w.key("choices");
    w.begin_array();
    for (const std::string& choice : c.choices) w.value(choice);
    w.end_array();
    w.end_object();
  }
  w.end_object();
}

// sampling.constraint: {"kind", "text", "choices"}.
void read_constraint(json_reader::FieldReader& sr, protocol::SamplingParams& p) {
  const json* cj = sr.get_object("constraint");
  if (cj == nullptr) return;
  json_reader::FieldReader r = reader(*cj, sr.path("constraint"));
  std::string kind;
  r.require("kind");
  r.get_string("kind", kind);
  auto c = std::make_shared<protocol::OutputConstraint>();
  r.get_string("text", c->text);
  if (const json* a = r.get_array("choices")) {
    for (const json& e : *a) {
      if (!e.is_string()) {
        r.fail(r.path("choices"), r.name("choices") + " must hold strings");
        break;
      }
      c->choices.push_back(e.get<std::string>());
    }
  }
  std::optional<protocol::OutputConstraint::Kind> k = protocol::constraint_kind_from_name(kind);
  if (r.ok() && !k) r.fail(r.path("kind"), r.name("kind") + " '" + kind + "' is unknown");
  if (!r.ok()) return sr.fail(r.first_error().field, r.first_error().message);
  c->kind = *k;
  p.constraint = std::move(c);
}

Status read_sampling(const json& j, const std::string& where, protocol::SamplingParams& p) {
  json_reader::FieldReader r = reader(j, where);
  r.get_float("temperature", p.temperature);
  r.get_int("top_k", INT32_MIN, INT32_MAX, p.top_k);
  r.get_float("top_p", p.top_p);
  r.get_float("min_p", p.min_p);
  r.get_float("repetition_penalty", p.repetition_penalty);
  r.get_float("presence_penalty", p.presence_penalty);
  r.get_float("frequency_penalty", p.frequency_penalty);
  r.get_int("num_logprobs", INT32_MIN, INT32_MAX, p.num_logprobs);
  r.require("max_tokens");
  r.get_int("max_tokens", INT32_MIN, INT32_MAX, p.max_tokens);
  r.get_int("min_tokens", INT32_MIN, INT32_MAX, p.min_tokens);
  r.get_bool("ignore_eos", p.ignore_eos);
  tokens(r, "stop_token_ids", p.stop_token_ids, false);
  if (r.has("seed")) {
    uint64_t seed = 0;
    r.get_uint64("seed", seed);
    p.seed = seed;
  }
  read_constraint(r, p);
  PD_RETURN_IF_ERROR(r.status());
  return validate_sampling(p).with_context(where);
}

// The PromptRequest part of a generate or prefill request.
void write_prompt(JsonWriter& w, const protocol::PromptRequest& r) {
  w.key("prompt_ids");
  w.int_array(r.prompt_ids);
  w.key("sampling");
  write_sampling(w, r.sampling);
  w.field("cache_salt", r.cache_salt);
  w.field("priority", r.priority);
}

Status read_prompt(const json& j, json_reader::FieldReader& r, const std::string& where,
                   protocol::PromptRequest& p) {
  tokens(r, "prompt_ids", p.prompt_ids, true);
  r.get_string("cache_salt", p.cache_salt);
  r.get_int("priority", INT32_MIN, INT32_MAX, p.priority);
  r.require("sampling");
  PD_RETURN_IF_ERROR(r.status());
  PD_RETURN_IF_ERROR(read_sampling(j["sampling"], where + ".sampling", p.sampling));
  if (p.prompt_ids.empty()) return invalid_argument(where + ".prompt_ids must not be empty");
  return ok_status();
}

json error_json(const ErrorInfo& e) {
  return {{"http_status", e.http_status}, {"message", e.message}, {"type", e.type}};
}

Status read_error(const json& j, ErrorInfo& e) {
  json_reader::FieldReader r = reader(j, "error");
  r.require("http_status");
  r.get_int("http_status", 100, 599, e.http_status);
  required_string(r, "message", e.message);
  r.get_string("type", e.type);
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
  json_reader::FieldReader r = reader(j, where);
  required_string(r, "host", a.host);
  int port = 0;
  r.require("port");
  r.get_int("port", 0, 65535, port);
  a.port = static_cast<uint16_t>(port);
  if (r.ok() && (a.host.empty() || a.port == 0))
    r.fail(where, where + " needs a host and a non-zero port");
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
  if (!(p.repetition_penalty > 0 && p.repetition_penalty <= 10))
    return bad("repetition_penalty must be in (0, 10]");
  if (!(p.presence_penalty >= -2 && p.presence_penalty <= 2))
    return bad("presence_penalty must be in [-2, 2]");
  if (!(p.frequency_penalty >= -2 && p.frequency_penalty <= 2))
    return bad("frequency_penalty must be in [-2, 2]");
  if (p.num_logprobs < -1 || p.num_logprobs > 20) return bad("num_logprobs must be in [-1, 20]");
  if (p.max_tokens < 1 || p.max_tokens > static_cast<int>(kMaxTokens))
    return bad("max_tokens must be >= 1");
  if (p.min_tokens < 0 || p.min_tokens > p.max_tokens)
    return bad("min_tokens must be in [0, max_tokens]");
  if (p.stop_token_ids.size() > 256) return bad("at most 256 stop_token_ids");
  return ok_status();
}

std::string to_json(const GenerateRequest& r) {
  JsonWriter w;
  w.begin_object();
  w.field("version", kVersion);
  w.field("request_id", r.request_id);
  w.field("prefill_mode", r.prefill_mode);
  write_prompt(w, r);
  if (r.prefill) {
    w.key("prefill");
    w.begin_object();
    w.field("host", r.prefill->host);
    w.field("port", r.prefill->port);
    w.end_object();
  }
  w.end_object();
  return std::move(w).take();
}

Result<GenerateRequest> parse_generate_request(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "generate request"));
  GenerateRequest g;
  json_reader::FieldReader r = reader(j, "generate");
  required_string(r, "request_id", g.request_id);
  r.get_string("prefill_mode", g.prefill_mode);
  PD_RETURN_IF_ERROR(read_prompt(j, r, "generate", g));
  if (g.request_id.empty()) return invalid_argument("generate.request_id must not be empty");
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
    for (const auto& lp : e.logprobs)
      lps.push_back({{"logprob", lp.logprob}, {"top", top_json(lp.top)}});
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
  GenerateEvent e;
  PD_RETURN_IF_ERROR(parse_generate_event(text, &e));
  return e;
}

Status parse_generate_event(std::string_view text, GenerateEvent* out) {
  if (read_decode_step_event(text, out)) return ok_status();
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "generate event"));
  GenerateEvent e;
  json_reader::FieldReader r = reader(j, "event");
  tokens(r, "token_ids", e.token_ids, false);
  r.get_string("finish_reason", e.finish_reason);
  if (r.has("stop_token_id")) {
    int t = 0;
    r.get_int("stop_token_id", 0, INT32_MAX, t);
    e.stop_token_id = t;
  }
  r.get_int("num_prompt_tokens", 0, INT32_MAX, e.num_prompt_tokens);
  r.get_int("num_cached_tokens", 0, INT32_MAX, e.num_cached_tokens);
  r.get_string("prefill_location", e.prefill_location);
  PD_RETURN_IF_ERROR(r.status());
  if (j.contains("logprobs")) {
    if (!j["logprobs"].is_array()) return invalid_argument("event.logprobs must be an array");
    for (const json& lp : j["logprobs"]) {
      TokenLogprobs t;
      json_reader::FieldReader lr = reader(lp, "event.logprobs[]");
      lr.require("logprob");
      lr.get_float("logprob", t.logprob);
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
  *out = std::move(e);
  return ok_status();
}

std::string to_json(const PrefillRequest& r) {
  const KvTarget& t = r.target;
  JsonWriter w;
  w.begin_object();
  w.field("version", kVersion);
  w.field("request_id", r.request_id);
  w.field("deadline_ms", r.deadline_ms);
  w.key("target");
  w.begin_object();
  w.field("agent_metadata", t.agent_metadata);
  w.field("compat_key", t.compat_key);
  w.key("layer_regions");
  w.int_array(t.layer_regions);
  w.field("block_bytes", t.block_bytes);
  w.key("block_ids");
  w.int_array(t.block_ids);
  w.field("first_block", t.first_block);
  w.field("epoch", t.epoch);
  w.end_object();
  write_prompt(w, r);
  w.end_object();
  return std::move(w).take();
}

Result<PrefillRequest> parse_prefill_request(std::string_view text) {
  PD_ASSIGN_OR_RETURN(json j, parse_object(text, "prefill request"));
  PrefillRequest p;
  json_reader::FieldReader r = reader(j, "prefill");
  required_string(r, "request_id", p.request_id);
  std::optional<int64_t> deadline_ms;
  r.get_int("deadline_ms", 0, INT64_MAX, deadline_ms);
  p.deadline_ms = deadline_ms.value_or(p.deadline_ms);
  r.require("target");
  PD_RETURN_IF_ERROR(read_prompt(j, r, "prefill", p));
  json_reader::FieldReader t = reader(j["target"], "prefill.target");
  required_string(t, "agent_metadata", p.target.agent_metadata);
  required_string(t, "compat_key", p.target.compat_key);
  t.require("layer_regions");
  uint64s(t, "layer_regions", p.target.layer_regions);
  t.require("block_bytes");
  t.get_uint64("block_bytes", p.target.block_bytes);
  tokens(t, "block_ids", p.target.block_ids, true);
  t.get_int("first_block", INT32_MIN, INT32_MAX, p.target.first_block);
  t.get_uint64("epoch", p.target.epoch);
  PD_RETURN_IF_ERROR(t.status());
  if (p.request_id.empty()) return invalid_argument("prefill.request_id must not be empty");
  if (p.prompt_ids.empty()) return invalid_argument("prefill.prompt_ids must not be empty");
  if (p.target.first_block < 0 ||
      p.target.first_block > static_cast<int>(p.target.block_ids.size()))
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
  json_reader::FieldReader r = reader(j, "prefill response");
  r.require("token_id");
  int token_id = 0;
  r.get_int("token_id", 0, INT32_MAX, token_id);
  p.first_token.token_id = token_id;
  r.get_float("logprob", p.first_token.logprob);
  r.get_int("num_cached_tokens", 0, INT32_MAX, p.num_cached_tokens);
  r.get_uint64("bytes_transferred", p.bytes_transferred);
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
  json_reader::FieldReader r = reader(j, "state");
  required_string(r, "role", s.role);
  r.get_string("model", s.model);
  r.get_int("block_size", 0, INT32_MAX, s.block_size);
  r.get_uint64("event_cursor", s.event_cursor);
  r.get_bool("events_truncated", s.events_truncated);
  uint64s(r, "cached", s.cached);
  PD_RETURN_IF_ERROR(r.status());
  if (j.contains("load")) {
    json_reader::FieldReader l = reader(j["load"], "state.load");
    l.get_int("num_waiting", 0, INT32_MAX, s.load.num_waiting);
    l.get_int("num_running", 0, INT32_MAX, s.load.num_running);
    l.get_int("num_free_blocks", 0, INT32_MAX, s.load.num_free_blocks);
    l.get_int("num_total_blocks", 0, INT32_MAX, s.load.num_total_blocks);
    PD_RETURN_IF_ERROR(l.status());
  }
  if (j.contains("events")) {
    if (!j["events"].is_array()) return invalid_argument("state.events must be an array");
    for (const json& e : j["events"]) {
      KvCacheEvent ev;
      json_reader::FieldReader er = reader(e, "state.events[]");
      er.require("stored");
      er.get_bool("stored", ev.stored);
      er.require("hash");
      er.get_uint64("hash", ev.block_hash);
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
  json_reader::FieldReader r = reader(j, "registration");
  required_string(r, "role", g.role);
  r.get_string("model", g.model);
  r.require("address");
  PD_RETURN_IF_ERROR(r.status());
  if (g.role != "prefill" && g.role != "decode")
    return invalid_argument("registration.role must be prefill or decode");
  PD_RETURN_IF_ERROR(read_address(j["address"], "registration.address", g.address));
  return g;
}

}  // namespace pdserve::server::internal
