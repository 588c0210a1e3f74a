// The physical limits that speed figures are reported against, measured on
// the device in the same run (METHOD.md): device-to-device copy bandwidth
// (bytes read plus written per second) and the dense bf16 GEMM rate.
#pragma once

#include <string>

#include "common/base/status.h"
#include "engine/backend/backend.h"

namespace pdserve::backend {

struct DevicePeaks {
  std::string device_name;      // as the driver names it, e.g. "NVIDIA H100 80GB HBM3"
  double copy_bytes_per_s = 0;  // read + written
  double gemm_flops_per_s = 0;  // bf16 in, fp32 accumulate, 8192^3
};

// kUnimplemented on a backend without a device (the CPU).
Result<DevicePeaks> measure_device_peaks(Backend& backend);

}  // namespace pdserve::backend
