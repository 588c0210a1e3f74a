#include "kvtransfer/cuda_ipc_mapping.h"

#include <cuda.h>
#include <cudaTypedefs.h>
#include <cuda_runtime_api.h>

#include <cstring>
#include <fstream>

#include "common/base/cuda_log.h"

namespace pdserve::kvtransfer::cuda_ipc {
namespace {

Status cuda_error(const std::string& what, cudaError_t err) {
  return internal_error("cuda_ipc " + what + ": " + cudaGetErrorString(err));
}

static_assert(sizeof(cudaIpcMemHandle_t) == kIpcHandleLen);

// The driver's cuPointerGetAttribute, reached through the runtime: linking
// libcuda would make every binary need a driver just to start.
Result<PFN_cuPointerGetAttribute_v4000> pointer_get_attribute() {
  static void* fn = nullptr;
  static const cudaError_t err = cudaGetDriverEntryPointByVersion(
      "cuPointerGetAttribute", &fn, 12000, cudaEnableDefault, nullptr);
  if (err != cudaSuccess || fn == nullptr) {
    return unavailable(std::string("cuda_ipc: no cuPointerGetAttribute: ") +
                       cudaGetErrorString(err));
  }
  return reinterpret_cast<PFN_cuPointerGetAttribute_v4000>(fn);
}

}  // namespace

Result<ExportedRegion> export_region(uint64_t id, const void* addr, uint64_t len) {
  PD_ASSIGN_OR_RETURN(PFN_cuPointerGetAttribute_v4000 get_attribute, pointer_get_attribute());
  CUdeviceptr base = 0;
  if (get_attribute(&base, CU_POINTER_ATTRIBUTE_RANGE_START_ADDR,
                    reinterpret_cast<CUdeviceptr>(addr)) != CUDA_SUCCESS) {
    return unimplemented("cuda_ipc: region is not CUDA device memory");
  }
  cudaIpcMemHandle_t handle;
  if (cudaError_t err = cudaIpcGetMemHandle(&handle, reinterpret_cast<void*>(base));
      err != cudaSuccess) {
    (void)cudaGetLastError();
    return unimplemented(std::string("cuda_ipc: CUDA cannot export this memory (cudaMalloc "
                                     "allocations only): ") +
                         cudaGetErrorString(err));
  }
  ExportedRegion r;
  r.id = id;
  r.len = len;
  r.offset = reinterpret_cast<CUdeviceptr>(addr) - base;
  r.handle.assign(reinterpret_cast<const char*>(&handle), sizeof(handle));
  return r;
}

std::string machine_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

Result<std::string> device_pci_bus_id(int device) {
  char bus[64] = {};
  if (cudaError_t err = cudaDeviceGetPCIBusId(bus, sizeof(bus), device); err != cudaSuccess) {
    return cuda_error("cudaDeviceGetPCIBusId", err);
  }
  return std::string(bus);
}

Status PeerMapping::open(int local_device, const std::string& boot_id,
                         const std::string& pci_bus_id,
                         const std::vector<ExportedRegion>& regions) {
  if (boot_id.empty() || boot_id != machine_boot_id()) {
    return failed_precondition(
        "cuda_ipc: the peer runs on another machine (both workers must share one host)");
  }
  int peer_device = -1;
  if (cudaDeviceGetByPCIBusId(&peer_device, pci_bus_id.c_str()) != cudaSuccess) {
    (void)cudaGetLastError();
    return failed_precondition("cuda_ipc: the peer's GPU " + pci_bus_id +
                               " is not visible to this process");
  }
  if (peer_device != local_device) {
    int can = 0;
    cudaDeviceCanAccessPeer(&can, local_device, peer_device);
    if (can == 0) {
      return failed_precondition("cuda_ipc: GPU " + std::to_string(local_device) +
                                 " cannot access the peer's GPU " + pci_bus_id +
                                 " (no peer access): use ucx or nccl");
    }
    cudaError_t err = cudaDeviceEnablePeerAccess(peer_device, 0);
    if (err != cudaSuccess && err != cudaErrorPeerAccessAlreadyEnabled) {
      return cuda_error("cudaDeviceEnablePeerAccess", err);
    }
    (void)cudaGetLastError();
  }
  regions_.clear();
  for (const ExportedRegion& r : regions) {
    auto it = opened_.find(r.handle);
    if (it == opened_.end()) {
      cudaIpcMemHandle_t handle;
      std::memcpy(&handle, r.handle.data(), sizeof(handle));
      void* base = nullptr;
      if (cudaError_t err = cudaIpcOpenMemHandle(&base, handle, cudaIpcMemLazyEnablePeerAccess);
          err != cudaSuccess) {
        (void)cudaGetLastError();
        return cuda_error("cudaIpcOpenMemHandle of region " + std::to_string(r.id), err);
      }
      it = opened_.emplace(r.handle, base).first;
    }
    regions_[r.id] = static_cast<char*>(it->second) + r.offset;
  }
  return ok_status();
}

char* PeerMapping::region_base(uint64_t id) const {
  auto it = regions_.find(id);
  return it == regions_.end() ? nullptr : it->second;
}

void PeerMapping::close() {
  for (auto& [handle, base] : opened_) PD_CUDA_LOG(cudaIpcCloseMemHandle(base));
  opened_.clear();
  regions_.clear();
}

}  // namespace pdserve::kvtransfer::cuda_ipc
