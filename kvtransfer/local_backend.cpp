// local backend: both agents live in one process and find each other through
// a process-wide registry by name. post_write copies synchronously (memcpy,
// or cudaMemcpy for device regions in a CUDA build) and delivers the
// notification before it returns, so a transfer is finished when post_write
// returns and cancel() always reports kFailedPrecondition. connect() checks
// that both agents were given the same cluster token (in one process there is
// nothing to prove over a wire). For unit tests.
#include <map>
#include <shared_mutex>

#include "kvtransfer/agent_core.h"
#include "kvtransfer/backends.h"
#include "kvtransfer/device_copy.h"
#include "kvtransfer/peer_auth.h"

namespace pdserve::kvtransfer {
namespace {

class LocalAgent;

// Agents by name. Held shared while a transfer touches a peer, exclusively
// while an agent joins or leaves, so a peer never dies under a copy.
struct LocalRegistry {
  std::shared_mutex mu;
  std::map<std::string, LocalAgent*> agents;
};

LocalRegistry& registry() {
  static LocalRegistry* r = new LocalRegistry();
  return *r;
}

class LocalAgent final : public AgentCore {
 public:
  explicit LocalAgent(const AgentOptions& options) : AgentCore(options) {}

  ~LocalAgent() override {
    std::unique_lock lock(registry().mu);
    registry().agents.erase(options_.name);
  }

  Status join() {
    std::unique_lock lock(registry().mu);
    if (!registry().agents.emplace(options_.name, this).second) {
      return already_exists("a local agent named '" + options_.name + "' exists");
    }
    return ok_status();
  }

  std::string metadata() const override {
    AgentMetadata md;
    md.backend = BackendKind::kLocal;
    md.name = options_.name;
    md.compat_key = options_.compat_key;
    md.address = options_.name;
    md.regions = regions_.describe();
    return md.serialize();
  }

  Result<uint64_t> connect(std::string_view peer_metadata) override {
    PD_ASSIGN_OR_RETURN(AgentMetadata md, AgentMetadata::parse(peer_metadata));
    PD_RETURN_IF_ERROR(check_compatible(md, BackendKind::kLocal, options_.compat_key));
    std::shared_lock lock(registry().mu);
    auto agent = registry().agents.find(md.address);
    if (agent == registry().agents.end()) {
      return unavailable("no local agent named '" + md.address + "'");
    }
    if (!proofs_equal(agent->second->options_.cluster_token, options_.cluster_token)) {
      agent->second->inbound_.refuse(options_.name, unauthenticated("wrong cluster token"));
      return unauthenticated("local agent '" + md.address + "' refused: authentication failed");
    }
    std::lock_guard peers_lock(peers_mu_);
    for (auto& [id, peer] : peers_) {
      if (peer.name == md.address) {
        peer.regions = index_regions(md.regions);
        return id;
      }
    }
    uint64_t id = next_peer_id_++;
    peers_[id] = Peer{md.address, index_regions(md.regions)};
    return id;
  }

  Result<uint64_t> post_write(uint64_t peer_id, std::vector<WriteOp> ops, std::string notification,
                              uint64_t epoch) override {
    Peer peer;
    {
      std::lock_guard lock(peers_mu_);
      auto it = peers_.find(peer_id);
      if (it == peers_.end()) return not_found("peer " + std::to_string(peer_id) + " is unknown");
      peer = it->second;
    }
    PD_RETURN_IF_ERROR(check_ops(ops, peer.regions, notification));
    uint64_t id = transfers_.create(peer_id);
    Status s = run(id, peer.name, ops, std::move(notification), epoch);
    if (!s.ok() && s.code() != StatusCode::kAborted && s.code() != StatusCode::kUnavailable &&
        !InboundPolicy::is_offence(s)) {
      transfers_.complete(id, s);
      return s;  // refused at post time: nothing was written
    }
    transfers_.complete(id, s);
    return id;
  }

 private:
  struct Peer {
    std::string name;
    RemoteRegions regions;
  };

  // Returns the transfer's outcome; errors other than kAborted / kUnavailable
  // and the receiver's refusals (InboundPolicy) happen before any byte is
  // copied; a refused write lands no byte either.
  Status run(uint64_t id, const std::string& peer_name, const std::vector<WriteOp>& ops,
             std::string notification, uint64_t epoch) {
    std::shared_lock lock(registry().mu);
    auto it = registry().agents.find(peer_name);
    if (it == registry().agents.end()) return unavailable("local peer '" + peer_name + "' is gone");
    LocalAgent* peer = it->second;
    PD_ASSIGN_OR_RETURN(std::vector<RegionPin> src, pin_local(ops, id));
    std::vector<RegionPin> dst;
    for (const WriteOp& op : ops) {
      Result<RegionPin> pin = peer->regions_.pin(op.remote_region, op.remote_offset, op.len, id);
      if (!pin.ok()) return pin.status().with_context("remote");
      dst.push_back(std::move(pin).value());
    }
    const auto conn_id = reinterpret_cast<uintptr_t>(this);
    for (const WriteOp& op : ops) {
      Status allowed =
          peer->inbound_.check_write(conn_id, epoch, op.remote_region, op.remote_offset, op.len);
      if (InboundPolicy::is_offence(allowed)) peer->inbound_.refuse(options_.name, allowed);
      PD_RETURN_IF_ERROR(allowed);
    }
    int64_t fail_idx = fault_index(ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      if (static_cast<int64_t>(i) == fail_idx) return injected_fault(i);
      PD_RETURN_IF_ERROR(copy_memory(dst[i].data(), dst[i].region().kind, src[i].data(),
                                     src[i].region().kind, ops[i].len));
      bytes_sent_ += ops[i].len;
      peer->bytes_received_ += ops[i].len;
    }
    Status delivered =
        peer->inbound_.deliver(conn_id, {options_.name, epoch, std::move(notification)});
    if (InboundPolicy::is_offence(delivered)) peer->inbound_.refuse(options_.name, delivered);
    return delivered;
  }

  std::mutex peers_mu_;
  std::map<uint64_t, Peer> peers_;
  uint64_t next_peer_id_ = 1;
};

}  // namespace

Result<std::unique_ptr<Agent>> create_local_agent(const AgentOptions& options) {
  auto agent = std::make_unique<LocalAgent>(options);
  PD_RETURN_IF_ERROR(agent->join());
  return std::unique_ptr<Agent>(std::move(agent));
}

}  // namespace pdserve::kvtransfer
