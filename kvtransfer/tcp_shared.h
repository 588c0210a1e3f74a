// What the tcp connection classes need from their agent (internal to the
// tcp backend; Asio stays in the tcp files).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "kvtransfer/inbound_policy.h"
#include "kvtransfer/inflight_epochs.h"
#include "kvtransfer/region_table.h"
#include "kvtransfer/transfer_table.h"

namespace pdserve::kvtransfer::tcp {

// Pins taken by inbound writes carry this transfer id, so deregistration never
// mistakes them for local transfers.
inline constexpr uint64_t kInboundPin = ~0ull;

struct AgentState {
  std::string name;
  std::string compat_key;
  std::string cluster_token;
  RegionTable* regions = nullptr;
  TransferTable* transfers = nullptr;
  InboundPolicy* inbound = nullptr;
  std::atomic<uint64_t>* bytes_sent = nullptr;
  std::atomic<uint64_t>* bytes_received = nullptr;
  InflightEpochs* inflight = nullptr;
};

}  // namespace pdserve::kvtransfer::tcp
