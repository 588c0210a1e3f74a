// CUDA IPC handles for the cuda_ipc backend (CUDA builds): exporting a
// registered device region and, on the sender, one peer's opened mappings.
// Plain header: handles travel as byte strings, pointers as char*.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"
#include "kvtransfer/cuda_ipc_wire.h"

namespace pdserve::kvtransfer::cuda_ipc {

// The IPC handle of the cudaMalloc allocation holding [addr, addr+len) and
// the region's offset in it. kUnimplemented for memory CUDA cannot export
// (host memory, stream-ordered pools).
Result<ExportedRegion> export_region(uint64_t id, const void* addr, uint64_t len);
// This boot of this machine (/proc/sys/kernel/random/boot_id): IPC handles
// only open where it matches.
std::string machine_boot_id();
// The PCI bus id of a CUDA device, which names it the same in every process
// whatever CUDA_VISIBLE_DEVICES says.
Result<std::string> device_pci_bus_id(int device);

// One receiver's regions as mapped into this process: every distinct
// allocation opened once (cudaIpcOpenMemHandle), closed by close() or the
// destructor (the caller makes sure no copy into them is still queued).
// Not thread-safe.
class PeerMapping {
 public:
  PeerMapping() = default;
  PeerMapping(const PeerMapping&) = delete;
  PeerMapping& operator=(const PeerMapping&) = delete;
  ~PeerMapping() { close(); }

  // Maps the receiver's table on `local_device` (the current device of the
  // calling thread). kFailedPrecondition when the receiver is on another
  // machine, on a GPU this process cannot see or cannot reach (no peer
  // access); kInternal when CUDA refuses a handle. Handles already open stay
  // open; regions no longer in the table are forgotten.
  Status open(int local_device, const std::string& boot_id, const std::string& pci_bus_id,
              const std::vector<ExportedRegion>& regions);
  // Start of region `id` in this process, or nullptr.
  char* region_base(uint64_t id) const;
  void close();

 private:
  std::map<std::string, void*> opened_;  // handle bytes -> mapped allocation base
  std::map<uint64_t, char*> regions_;    // region id -> mapped start
};

}  // namespace pdserve::kvtransfer::cuda_ipc
