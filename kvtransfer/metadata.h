// AgentMetadata: the serialisable description one agent hands its peers.
// Text format, one field per line, versioned by its first line:
//
//   pdserve-kv 1
//   backend tcp
//   name <hex>
//   compat <hex>
//   address <hex>          (tcp: "host:port"; ucx: worker address bytes)
//   extra <hex>            (backend specific, e.g. the NCCL unique id)
//   region <id> <len> <host|device> <addr> <hex rkey>
//
// Strings are hex-encoded so any byte is safe. parse() bounds everything
// (at most 1 MiB of text, 1<<20 regions) and never throws.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/agent.h"

namespace pdserve::kvtransfer {

inline constexpr int kMetadataVersion = 1;

struct RegionDesc {
  uint64_t id = 0;
  uint64_t len = 0;
  MemoryKind kind = MemoryKind::kHost;
  uint64_t addr = 0;  // the owner's virtual address (RMA backends need it)
  std::string rkey;   // packed remote key (ucx), empty otherwise
};

struct AgentMetadata {
  int version = kMetadataVersion;
  BackendKind backend = BackendKind::kTcp;
  std::string name;
  std::string compat_key;
  std::string address;
  std::string extra;
  std::vector<RegionDesc> regions;

  std::string serialize() const;
  static Result<AgentMetadata> parse(std::string_view text);
};

// kFailedPrecondition unless `peer` has our version, backend and compat key.
Status check_compatible(const AgentMetadata& peer, BackendKind backend,
                        std::string_view compat_key);

std::string hex_encode(std::string_view bytes);
Result<std::string> hex_decode(std::string_view hex);

}  // namespace pdserve::kvtransfer
