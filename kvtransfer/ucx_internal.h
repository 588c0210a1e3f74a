// Private to kvtransfer's ucx_*.cpp files (and the test that forges their
// messages); include it nowhere else (UCX types stay out of every other file,
// STYLE.md habit 5).
//
// ucx backend: one ucp context + worker per agent, driven by one progress
// thread that makes every worker call (callers hand it closures and wake it
// with ucp_worker_signal). The worker address and the packed rkey of every
// region travel in the metadata. Two protocols (see Protocol below):
//
//   am (default):  ucp_am_send_nbx DATA per op (≤ kMaxInflightOps in flight)
//                    → receiver checks epoch/grants/region/bounds, receives into the
//                      region (rendezvous) or into scratch when refused.
//                    Ops of at most PDSERVE_KV_UCX_EAGER_MAX_KB (default 64)
//                    go eager (copied through UCX's buffers, no handshake):
//                    over shared memory and tcp the rendezvous round trip
//                    costs more than the copy at those sizes (PERFORMANCE.md).
//                  → ucp_am_send_nbx NOTIFY (eager, reply ep; carries the op
//                    count; delivered once that many ops have landed)
//   put:           ucp_am_send_nbx PLAN (the op list) → the receiver checks it
//                    (grants, fenced epoch, region, bounds; ucx_put_plan.cpp),
//                    pins the ranges and answers (with the packed rkeys of the
//                    plan's regions, withheld from the metadata); refused: the
//                    transfer fails, no put is posted
//                  → ucp_put_nbx per op (batches of kPutBatch)
//                  → ucp_ep_flush_nbx (all puts remotely complete)
//                  → ucp_am_send_nbx NOTIFY (refused unless it matches an
//                    accepted plan: epoch and bytes)
//   both:          receiver queues the notification (unless fenced) and sends
//                  ACK (stamped with the session) → kDone, or kFailed with the
//                  receiver's reason.
//
// Liveness and broken peers (ucx_probe.cpp): a transfer that waits on its
// peer (for an answer, or for data sends to complete) and has heard nothing
// from it for kProbeInterval sends a PROBE (stamped; at most one per peer per
// interval); the receiver answers at once (PROBE ANSWER: ok, or why it closed
// the session). Every answer from the peer (ACK, plan answer, probe answer)
// counts as heard. A peer is broken, its endpoint force-closed and every
// transfer to it failed at once (kUnavailable), when: a control message to it
// (NOTIFY, PLAN, ABORT, PROBE) fails to send; a probe answer says the session
// is closed; or a waiting transfer heard nothing for kSilenceTimeout (a dead
// or stalled peer, also on transports that report no failure). A broken peer
// refuses post_write; connect() with its metadata makes a new peer (a new
// handshake). The receiver closes a session whose answer (ACK, plan answer)
// failed to send: it cannot tell the sender that transfer's verdict, so every
// later message of the session is refused (kUnavailable) and its next probe
// answer breaks the peer on the sender's side (if even that answer does not
// get through, the sender's silence deadline does). Such a transfer may have
// been delivered though its sender reports it failed (agent.h).
//
// Cancel and the fault injector take effect between batches; in-flight ops
// are waited out (flush / send completions) before the transfer ends, so no
// UCX operation reads local memory after it left kPending (except after a
// peer failure, where UCX purges the endpoint's requests). Endpoints use
// UCP_ERR_HANDLING_MODE_PEER where the transports allow it (a peer that dies
// fails its transfers with kUnavailable); UCX 1.13 shared memory does not, so
// there the endpoint has no error handling and a dead peer is found by its
// silence (kSilenceTimeout, see liveness above).
// Staging (am protocol): a device region is handed to UCX directly when the
// UCX context supports CUDA memory; otherwise it is staged through page-locked
// host buffers (StagingPool, kStageBuffers of PDSERVE_KV_UCX_STAGING_CHUNK_KB,
// default 2 MiB, per peer for sending and per agent for receiving). PDSERVE_KV_UCX_STAGING=always
// stages every region, host ones included (UCX builds whose CUDA path misbehaves; tests). A staged
// region is not mapped and has no rkey, so a peer sees an empty rkey and splits its writes into it
// into chunk-sized messages; the receiver receives each into a staging buffer (a heap one when all
// are busy) and copies it into the region before counting it landed. The sender copies a staged
// local op chunk by chunk into its buffers, at most kStageBuffers chunked messages in flight per
// peer, so the copy of one chunk overlaps the transfer of the ones before it. The put protocol
// cannot stage: it refuses staged regions (at registration, and at post for a peer's).
//
// Authentication: connect() runs the handshake of ucx_sessions.h (HELLO,
// CHALLENGE, AUTH, WELCOME active messages, ucx_handshake.cpp) before it
// returns a peer; every DATA, NOTIFY and ABORT carries the session's stamp,
// and the receiver refuses (and bans) a message whose stamp it did not issue
// before any byte of it lands. Grants bind to the session id.
//
// Files: ucx_worker.cpp (context, worker, progress thread, shutdown),
// ucx_peers.cpp (endpoints, rkeys, peer failure), ucx_put_protocol.cpp,
// ucx_put_plan.cpp (the receiver's check of a put transfer's op list),
// ucx_am_protocol.cpp, ucx_notify.cpp (NOTIFY / ACK, both protocols),
// ucx_probe.cpp (liveness, broken peers) and ucx_backend.cpp (the Agent: regions, metadata,
// post_write, job dispatch). Threads: UcxAgent's public methods may be called from any thread.
// Every ucp_worker call but ucp_worker_signal (wake) runs on the progress thread (callers go
// through submit / on_worker), except in start() before the thread exists and in shutdown() after
// it joined. UCX callbacks and submitted closures run there too; the members marked "Progress
// thread only" are touched nowhere else.
#pragma once

#include <ucp/api/ucp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "kvtransfer/accepted_plans.h"
#include "kvtransfer/agent_core.h"
#include "kvtransfer/peer_auth.h"
#include "kvtransfer/region_table.h"
#include "kvtransfer/staging_pool.h"
#include "kvtransfer/ucx_sessions.h"

namespace pdserve::kvtransfer::ucx {

inline constexpr unsigned kNotifyAm = 11;
inline constexpr unsigned kAckAm = 12;
inline constexpr unsigned kDataAm = 13;   // am protocol: one op, received into the region
inline constexpr unsigned kAbortAm = 14;  // am protocol: no NOTIFY follows for this transfer
inline constexpr unsigned kHelloAm = 15;  // handshake (ucx_handshake.cpp)
inline constexpr unsigned kChallengeAm = 16;
inline constexpr unsigned kAuthAm = 17;
inline constexpr unsigned kWelcomeAm = 18;
inline constexpr unsigned kPlanAm = 19;        // put protocol: the op list, before any put
inline constexpr unsigned kPlanAnswerAm = 20;  // put protocol: the receiver's verdict (AckHeader)
inline constexpr unsigned kProbeAm = 21;       // liveness: the session's stamp (AckHeader, code 0)
inline constexpr unsigned kProbeAnswerAm =
    22;  // the receiver's answer (AckHeader: ok or why closed)
inline constexpr size_t kMaxInflightOps = 256;
inline constexpr size_t kMaxBanned = 4096;
inline constexpr size_t kMaxPlans = 4096;         // accepted plans held at once (receiver)
inline constexpr uint64_t kMaxPlanOps = 1 << 20;  // ops in one plan
// What the metadata says of a region's rkey when the region is mapped (not
// staged): the packed rkey itself goes only to a session whose plan was
// accepted (in the plan answer), so a process with the metadata but not the
// token cannot put into any region.
inline constexpr std::string_view kWithheldRkey = "-";
inline constexpr uint64_t kInboundPinId = ~0ull;  // pins of received data, never a local transfer
inline constexpr size_t kPutBatch = 32;
inline constexpr uint64_t kMaxPutInflightBytes = 64 << 20;
inline constexpr size_t kStageBuffers = 16;
inline constexpr size_t kDefaultStageChunk = 2 << 20;
inline constexpr size_t kDefaultEagerMax = 64 << 10;
// A notification whose ACK has not come after this long fails the transfer,
// and a transfer whose data sends (or flush) complete nothing for this long
// fails its peer: the endpoint is force-closed, so UCX drops its requests
// (a dead peer on a transport without failure detection).
inline constexpr auto kAckTimeout = std::chrono::seconds(30);
// A transfer waiting on its peer that heard nothing from it for
// kProbeInterval probes it; after kSilenceTimeout the peer is broken (see
// above). The timeout is the liveness bound the rest of the cluster keeps
// (a stalled worker is detected in at most 5 s, RELIABILITY.md).
inline constexpr auto kProbeInterval = std::chrono::seconds(1);
inline constexpr auto kSilenceTimeout = std::chrono::seconds(5);
// connect() fails when the peer has not completed the handshake by then.
inline constexpr auto kHandshakeTimeout = std::chrono::seconds(5);

// How data moves. kPut: ucp_put_nbx + ucp_ep_flush_nbx, one-sided (the
// receiver never sees the writes: it checks the op list the sender declares
// first, so a sender that follows the protocol writes only where granted;
// one that puts without a plan holds the rkeys from the metadata and cannot
// be stopped by the receiver's software, only its NOTIFY is refused). kAm: each op is an active
// message the receiver checks (region, bounds, fenced epoch) and receives straight into the region
// (rendezvous: zero-copy, CMA over shared memory); the NOTIFY is delivered once every op of its
// transfer has landed. UCX 1.13 without RDMA emulates put in software through the AM lane's bounce
// buffers, so kAm is the default; PDSERVE_KV_UCX_PROTOCOL=put selects kPut (RDMA fabrics).
enum class Protocol { kPut, kAm };

// The session a message belongs to and its tag (ucx_sessions.h).
struct SessionStamp {
  uint64_t id;
  char tag[kSessionTagLen];
  std::string_view tag_view() const { return {tag, kSessionTagLen}; }
};

struct NotifyHeader {
  SessionStamp session;
  uint64_t transfer_id;
  uint64_t epoch;
  uint64_t bytes;
  uint64_t num_ops;  // am protocol: data AMs that precede it; 0 for put
  uint32_t name_len;
  uint32_t payload_len;
};

// put protocol: a PLAN (data: num_ops PlannedOp), answered by kPlanAnswerAm.
struct PlanHeader {
  SessionStamp session;
  uint64_t transfer_id;
  uint64_t epoch;
  uint64_t num_ops;
};
struct PlannedOp {
  uint64_t region;
  uint64_t offset;
  uint64_t len;
};

struct DataHeader {
  SessionStamp session;
  uint64_t transfer_id;
  uint64_t region;
  uint64_t offset;
  uint64_t len;
  uint64_t epoch;
};

class UcxAgent;
struct UcxPeer;

// am protocol: one DATA message in flight (the header must live until the
// send completes; `stage` is the staging buffer it is sent from, if any).
struct DataSend {
  UcxAgent* agent;
  uint64_t job_id;
  DataHeader header;
  char* stage;
  UcxPeer* chunked;  // non-null: counted in this peer's chunked_inflight
};

// Receiver side (am protocol): one sender's transfer being assembled.
struct Assembly {
  uint64_t landed = 0;  // ops received or refused
  Status refused;
  bool notified = false;
  bool aborted = false;  // ABORT came: erase once `expected` messages landed
  uint64_t expected = 0;
  Notification note;
  uint64_t bytes = 0;
  ucp_ep_h reply_ep = nullptr;
  SessionStamp session{};  // the NOTIFY's, echoed in the ACK
};

// The receiver's answer to a NOTIFY. It names the session of the transfer
// with that session's tag, which only the two ends know: the sender takes an
// ACK only when the stamp is its own, so a process that can reach its worker
// cannot complete (or fail) its transfers.
struct AckHeader {
  SessionStamp session;
  uint64_t transfer_id;
  uint64_t code;
};

// The Status an ACK or a plan answer carries (its data: the message).
Status answer_status(const AckHeader& h, const void* data, size_t len);

// kUnavailable naming the failed call and the UCX status.
Status ucx_error(const std::string& what, ucs_status_t s);

struct UcxPeer {
  uint64_t id = 0;
  std::string name;
  std::string address;
  RemoteRegions regions;
  ucp_ep_h ep = nullptr;
  SessionStamp session{};  // set by the handshake; id 0 until it succeeded
  std::atomic<bool> dead{false};
  Status dead_status;  // written once, before dead becomes true
  // Progress thread only (ucx_probe.cpp): set when a control message to the
  // peer failed or it closed the session (drive() then abandons the peer);
  // when it last answered anything and when it was last probed.
  Status broken;
  std::chrono::steady_clock::time_point heard_at{};
  std::chrono::steady_clock::time_point probed_at{};
  // Progress thread only: remote region id -> unpacked rkey, from the answers
  // to accepted plans (the metadata withholds them: kWithheldRkey).
  std::map<uint64_t, ucp_rkey_h> rkeys;
  // Progress thread only: chunked DATA sends to this peer not completed
  // (≤ kStageBuffers, so the peer never has more staged receives than
  // buffers), and the buffers staged local ops to it are sent from (made on
  // first use; a peer that stops answering keeps its own, not the others').
  size_t chunked_inflight = 0;
  std::unique_ptr<StagingPool> send_stage;
};

struct UcxJob {
  // put protocol: kPlanning (PLAN sent, awaiting its answer) before kPosting.
  enum class Phase { kPlanning, kPosting, kFlushing, kNotifying, kAwaitingAck };
  uint64_t id = 0;
  UcxPeer* peer = nullptr;
  std::vector<WriteOp> ops;
  std::vector<RegionPin> pins;
  std::string notification;
  uint64_t epoch = 0;
  int64_t fail_idx = -1;
  bool planned = false;  // put protocol: the receiver accepted the op list
  size_t next_op = 0;
  Phase phase = Phase::kPosting;
  Status stop;  // set: flush, then complete with it instead of notifying
  NotifyHeader header{};
  PlanHeader plan{};    // put protocol
  std::string am_data;  // the NOTIFY's (or PLAN's) data
  std::chrono::steady_clock::time_point notified_at;
  // The last time a data send or flush was posted or completed (see kAckTimeout).
  std::chrono::steady_clock::time_point progressed_at = std::chrono::steady_clock::now();
  size_t inflight = 0;              // am protocol: DATA sends not completed
  uint64_t put_inflight_bytes = 0;  // put protocol: bytes of puts not locally complete
  uint64_t messages = 0;            // am protocol: DATA messages sent (the NOTIFY's op count)
  uint64_t stage_offset = 0;        // am protocol: bytes of ops[next_op] sent in chunks so far
};

// Sender side of a handshake in progress (progress thread only).
struct OutboundHello {
  UcxPeer* peer;
  std::string nonce;           // ours
  std::string receiver_nonce;  // set once the peer proved the token
  std::shared_ptr<std::promise<Status>> done;
};

struct PendingAck {
  unsigned am_id;  // kAckAm or kPlanAnswerAm
  ucp_ep_h ep;
  AckHeader header;
  std::string message;
  UcxAgent* agent = nullptr;  // set when sent
};

class UcxAgent final : public AgentCore {
 public:
  explicit UcxAgent(const AgentOptions& options)
      : AgentCore(options), sessions_(options.cluster_token, options.compat_key) {}
  ~UcxAgent() override { shutdown(); }

  Status start();
  std::string metadata() const override;
  Result<uint64_t> connect(std::string_view peer_metadata) override;
  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override;

 protected:
  Status on_register(Region* region) override;
  void on_deregister(const Region& region) override;
  void on_cancel(uint64_t) override { wake(); }

 private:
  // ucx_worker.cpp. Runs fn on the progress thread and waits for its Status (bounded).
  Status on_worker(std::function<Status()> fn);
  void submit(std::function<void()> fn);
  void wake() {
    if (worker_ != nullptr) ucp_worker_signal(worker_);
  }
  void progress_loop();
  void shutdown();

  // ucx_backend.cpp. Advances one job on the progress thread (both protocols).
  void drive(UcxJob& job);
  void finish(uint64_t id, const Status& status);

  // ucx_peers.cpp.
  Result<ucp_rkey_h> rkey_for(UcxPeer& peer, uint64_t region_id);
  void fail_peer(UcxPeer* peer, const Status& status);
  // Marks the peer dead, force-closes its endpoint (UCX completes its
  // requests with an error, so nothing reads local memory any more) and
  // fails its transfers.
  void abandon_peer(UcxPeer* peer, const Status& status);
  void close_endpoint(UcxPeer& peer);
  static void on_ep_error(void* arg, ucp_ep_h ep, ucs_status_t status);

  // ucx_handshake.cpp. Runs the handshake with a new peer (caller thread;
  // bounded by kHandshakeTimeout): kUnauthenticated (either side does not
  // know the token), kFailedPrecondition (compat key differs),
  // kDeadlineExceeded (no answer).
  Status authenticate(UcxPeer* peer);
  // ok when `stamp` names a session this receiver issued (see ban()).
  Status check_session(const SessionStamp& stamp) const;
  // Queues one active message (sent from the progress thread's next turn,
  // not from inside a UCX callback); header and data live until the send
  // completes. `reply`: the receiver gets a reply endpoint.
  void send_owned(ucp_ep_h ep, unsigned am_id, std::string header, std::string data, bool reply);
  static ucs_status_t on_hello_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_challenge_am(void* arg, const void* header, size_t header_len, void* data,
                                      size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_auth_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_welcome_am(void* arg, const void* header, size_t header_len, void* data,
                                    size_t len, const ucp_am_recv_param_t* param);

  // ucx_put_protocol.cpp.
  // kUnimplemented when an op targets a peer's staged region (no rkey).
  static Status check_put_targets(const UcxPeer& peer, const std::vector<WriteOp>& ops);
  static Status staged_remote_error(const UcxPeer& peer, const WriteOp& op);
  void drive_put(UcxJob& job);
  void start_flush(UcxJob& job);
  void on_flushed(uint64_t id, ucs_status_t status);
  // Sends the op list (kPlanning until the answer, kAckTimeout).
  void send_plan(UcxJob& job);
  static ucs_status_t on_plan_answer_am(void* arg, const void* header, size_t header_len,
                                        void* data, size_t len, const ucp_am_recv_param_t* param);
  // Unpacks the rkeys of an accepted plan's answer into peer.rkeys.
  static Status take_rkeys(UcxPeer& peer, std::string_view answer);

  // ucx_put_plan.cpp (receiver side of the put protocol).
  // Checks a PLAN's ops as check_inbound_ops does and keeps their pins; the
  // packed rkeys of the plan's regions (rkeys_of) for the answer.
  Result<std::string> accept_plan(const PlanHeader& h, const void* data, size_t len);
  static ucs_status_t on_plan_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t* param);

  // ucx_probe.cpp (liveness, see above).
  // Probes the peer when `job` waits on it and heard nothing for
  // kProbeInterval; false when it heard nothing for kSilenceTimeout (the
  // caller abandons the peer).
  bool check_alive(UcxJob& job);
  void send_probe(UcxPeer& peer);
  // Sends one eager message of `header` (kept until sent; `reply`: the
  // receiver gets a reply endpoint); a send that fails breaks the peer
  // (`what` names the message in the error).
  void send_to_peer(UcxPeer& peer, unsigned am_id, std::string header, bool reply,
                    const char* what);
  // A control message to `peer` failed to send (from a UCX callback: only
  // marks it; drive() abandons the peer).
  static void mark_broken(UcxPeer& peer, const Status& why);
  static ucs_status_t on_probe_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_probe_answer_am(void* arg, const void* header, size_t header_len,
                                         void* data, size_t len, const ucp_am_recv_param_t* param);

  // ucx_am_protocol.cpp.
  bool staged(MemoryKind kind) const {
    return stage_all_ || (kind == MemoryKind::kDevice && !cuda_memory_);
  }
  void drive_am(UcxJob& job);
  // Posts one DATA message of `len` bytes from `src` to (region, offset).
  void send_data(UcxJob& job, uint64_t region, uint64_t offset, uint64_t len, const char* src,
                 char* stage, bool chunked);
  void on_data_sent(const DataSend& send, ucs_status_t status);
  void on_landed(uint64_t session_id, uint64_t transfer_id, const Status& status);
  static ucs_status_t on_data_am(void* arg, const void* header, size_t header_len, void* data,
                                 size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_abort_am(void* arg, const void* header, size_t header_len, void* data,
                                  size_t len, const ucp_am_recv_param_t* param);

  // ucx_notify.cpp.
  void send_notify(UcxJob& job, uint64_t num_ops);
  // Sends a control message (kNotifyAm, kPlanAm; data: job.am_data) with a
  // reply endpoint and moves the job to `awaiting`; a send that fails breaks
  // the peer (every transfer to it fails at once, kUnavailable).
  void send_control(UcxJob& job, unsigned am_id, const void* header, size_t header_len,
                    UcxJob::Phase awaiting);
  void on_control_sent(uint64_t id, unsigned am_id, ucs_status_t status);
  // Tells the receiver that no NOTIFY follows (am: `messages` DATA were sent).
  void send_abort(UcxJob& job, uint64_t messages);
  // Queues the answer (am_id kAckAm or kPlanAnswerAm) to a message of
  // `session`, sent by send_acks().
  // `data` goes with an ok status (else the status's message).
  void queue_ack(unsigned am_id, ucp_ep_h ep, const SessionStamp& session, uint64_t transfer_id,
                 const Status& status, std::string data = {});
  // The answer to a message of a closed session: `closed` as its verdict,
  // then a probe answer saying so (the sender breaks its peer at once).
  void answer_closed(unsigned am_id, ucp_ep_h ep, const SessionStamp& session, uint64_t transfer_id,
                     const Status& closed);
  void on_ack_sent(const PendingAck& ack, ucs_status_t status);
  // The job an answer (ACK or plan answer) names, when stamped with the
  // job's session (its peer is then heard from); nullptr otherwise (a forged
  // one is counted).
  UcxJob* answered_job(const AckHeader& h);
  void deliver(std::pair<uint64_t, uint64_t> key);
  void send_acks();
  // A session that broke the InboundPolicy: counted once, dropped, every
  // later message of it refused (UCX gives the receiver no connection of its
  // own to drop). kUnauthenticated (a stamp never issued): counted once per
  // session id named, the session (if any) untouched.
  void ban(uint64_t session_id, const Status& why);
  // ban() for an offence already counted (check_inbound_ops counts its own).
  void drop_session(uint64_t session_id);
  // An answer to the session failed to send: the session is closed, not
  // counted as a refusal (see "Liveness and broken peers" above).
  void close_session(uint64_t session_id, const Status& why);
  // Why the session was closed (banned or its answer lost); ok when it was not.
  Status closed_status(uint64_t session_id) const;
  static ucs_status_t on_notify_am(void* arg, const void* header, size_t header_len, void* data,
                                   size_t len, const ucp_am_recv_param_t* param);
  static ucs_status_t on_ack_am(void* arg, const void* header, size_t header_len, void* data,
                                size_t len, const ucp_am_recv_param_t* param);

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  int efd_ = -1;
  bool cuda_memory_ = false;
  bool stage_all_ = false;               // PDSERVE_KV_UCX_STAGING=always
  size_t eager_max_ = kDefaultEagerMax;  // am protocol: larger DATA messages use rendezvous
  std::string worker_address_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::chrono::microseconds spin_{50};  // polls this long after activity (PDSERVE_KV_UCX_SPIN_US)
  Protocol protocol_ = Protocol::kAm;

  std::mutex mu_;  // commands_, peers_ map shape (changed on the progress thread only)
  std::deque<std::function<void()>> commands_;
  std::map<uint64_t, std::unique_ptr<UcxPeer>> peers_;
  uint64_t next_peer_id_ = 1;

  // Progress thread only.
  std::map<uint64_t, std::unique_ptr<UcxJob>> jobs_;
  std::deque<PendingAck> acks_;
  std::map<std::pair<uint64_t, uint64_t>, Assembly> assemblies_;  // (session id, transfer id)
  size_t receiving_ = 0;                                          // rendezvous receives in flight
  size_t stage_chunk_ = kDefaultStageChunk;                       // PDSERVE_KV_UCX_STAGING_CHUNK_KB
  std::unique_ptr<StagingPool> recv_stage_;                       // created in start()
  std::map<uint64_t, Status> closed_;                             // session id -> why, see ban()
  std::set<uint64_t> forged_;                                     // session ids, see ban()
  AcceptedPlans plans_{kMaxPlans, kAckTimeout};                   // put protocol, receiver side
  UcxSessions sessions_;                                          // receiver side of handshakes
  std::map<uint64_t, OutboundHello> hellos_;                      // sender side, by hello id
};

}  // namespace pdserve::kvtransfer::ucx
