// The internal API between pdserve's processes, version 1 (JSON over HTTP,
// routes under /internal/v1/, every call carrying the cluster token as
// `Authorization: Bearer <token>`):
//
//   router ──POST /internal/v1/generate (GenerateRequest)──▶ decode worker
//          ◀──SSE: one GenerateEvent per step that produced tokens, then the
//             last event (finish_reason or error) and `data: [DONE]`
//   decode ──POST /internal/v1/prefill (PrefillRequest)──▶ prefill worker
//          ◀──PrefillResponse, sent after the KV landed in the decode worker's
//             blocks (or with an error)
//   router ──GET /internal/v1/state?since=N──▶ any worker: WorkerState (load,
//             prefix-cache events after cursor N)
//   worker ──POST /internal/v1/register (Registration)──▶ router, repeated as
//             a heartbeat
//
// A client going away (the SSE connection closing) aborts the request.
// Every parse_* checks the version, required fields, types and bounds and
// returns kInvalidArgument naming the field; to_json never fails.
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "common/protocol/prompt_request.h"
#include "common/protocol/sampled_token.h"
#include "common/protocol/sampling_params.h"

namespace pdserve::server::internal {

inline constexpr int kVersion = 1;

struct WorkerAddress {
  std::string host;
  uint16_t port = 0;
};

// The prompt request (prompt_ids, sampling, cache_salt, priority) and how to
// serve it.
struct GenerateRequest : protocol::PromptRequest {
  std::string request_id;  // unique in the cluster (the router's id)
  // The prefill worker chosen by the router; none: the decode worker decides
  // alone (it prefills locally).
  std::optional<WorkerAddress> prefill;
  // "auto" (conditional disaggregation), "remote" (always ask the prefill
  // worker; tests), "local" (never).
  std::string prefill_mode = "auto";
};

struct TokenLogprobs {
  float logprob = 0.0f;
  std::vector<protocol::TokenLogprob> top;
};

struct ErrorInfo {
  int http_status = 500;
  std::string message;
  std::string type;  // OpenAI error type; empty: from http_status
};

struct GenerateEvent {
  std::vector<int32_t> token_ids;       // new tokens since the last event
  std::vector<TokenLogprobs> logprobs;  // one per token when asked for
  std::string finish_reason;            // "", "stop", "length", "abort"
  std::optional<int32_t> stop_token_id;
  int num_prompt_tokens = 0;       // in the first and the last event
  int num_cached_tokens = 0;       // prompt tokens served from a prefix cache
  std::string prefill_location;    // "local" or "remote", in the first event
  std::optional<ErrorInfo> error;  // the stream ends after an error event
};

// Where the prefill worker writes the KV: the decode worker's kvtransfer
// agent (its exported metadata), the registered region of each layer's pool,
// and the destination block of each prompt block from `first_block` on (the
// blocks before it were already cached on the decode worker).
struct KvTarget {
  std::string agent_metadata;
  std::string compat_key;
  std::vector<uint64_t> layer_regions;  // one per layer, in layer order
  uint64_t block_bytes = 0;             // bytes of one block of one layer
  std::vector<int32_t> block_ids;       // destination blocks, one per prompt block
  int first_block = 0;
  uint64_t epoch = 0;  // fences late writes (kvtransfer epochs)
};

// The decode worker's prompt request, and where its KV goes.
struct PrefillRequest : protocol::PromptRequest {
  std::string request_id;
  KvTarget target;
  int64_t deadline_ms = 0;  // the decode worker stops waiting after this long
};

struct PrefillResponse {
  protocol::SampledToken first_token;  // seq_id unused
  int num_cached_tokens = 0;           // prompt tokens the prefill worker had cached
  uint64_t bytes_transferred = 0;
  std::optional<ErrorInfo> error;
};

struct KvCacheEvent {
  bool stored = true;  // false: evicted
  uint64_t block_hash = 0;
};

struct WorkerLoad {
  int num_waiting = 0;
  int num_running = 0;
  int num_free_blocks = 0;
  int num_total_blocks = 0;
};

struct WorkerState {
  std::string role;  // "prefill" or "decode"
  std::string model;
  int block_size = 0;
  WorkerLoad load;
  uint64_t event_cursor = 0;  // pass as ?since= to get only later events
  std::vector<KvCacheEvent> events;
  bool events_truncated = false;  // older events were dropped: rebuild from `cached`
  std::vector<uint64_t> cached;   // every cached block hash, when truncated
};

struct Registration {
  std::string role;
  WorkerAddress address;
  std::string model;
};

std::string to_json(const GenerateRequest& r);
std::string to_json(const GenerateEvent& e);
std::string to_json(const PrefillRequest& r);
std::string to_json(const PrefillResponse& r);
std::string to_json(const WorkerState& s);
std::string to_json(const Registration& r);

Result<GenerateRequest> parse_generate_request(std::string_view json);
Result<GenerateEvent> parse_generate_event(std::string_view json);
// The same into *out, replacing it: an event reused from token to token
// keeps its vectors (a decode step's event then allocates nothing).
Status parse_generate_event(std::string_view json, GenerateEvent* out);
Result<PrefillRequest> parse_prefill_request(std::string_view json);
Result<PrefillResponse> parse_prefill_response(std::string_view json);
Result<WorkerState> parse_worker_state(std::string_view json);
Result<Registration> parse_registration(std::string_view json);

// Also used by the router to validate what it builds from OpenAI requests.
Status validate_sampling(const protocol::SamplingParams& p);

}  // namespace pdserve::server::internal
