// Hopper warpgroup MMA (wgmma, sm_90a) through inline PTX: shared-memory
// operand descriptors in the 128-byte swizzle layout, the fence / commit /
// wait of the asynchronous pipeline, and m64n64k16 bf16 with A in registers.
// Compiled for other targets (sm_90 without the "a", or an older target whose
// PTX the driver JITs on a Hopper) the bodies trap: the host-side plans pick a
// wgmma kernel on every compute capability 9.0 device, and an empty body
// would return zeros silently instead of failing the launch.
#pragma once

#include <cstdint>

namespace pdserve::backend::cuda {

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define PD_WGMMA_ASM(...) asm volatile(__VA_ARGS__)
#else
#define PD_WGMMA_ASM(...) __trap()
#endif

// Descriptor of a shared-memory operand in the 128-byte swizzle layout: rows
// of 128 bytes whose 16-byte chunks are XOR-ed with (row & 7), atoms of eight
// rows 1024-byte aligned. addr: shared-memory byte address of the operand's
// first element; lbo / sbo: the leading / stride byte offsets (for a K-major
// operand sbo is the step between groups of eight rows along M or N; for an
// MN-major one lbo is the step between 64-element blocks along M or N and sbo
// the step between groups of eight rows along K).
__device__ __forceinline__ uint64_t wgmma_desc_sw128(uint32_t addr, uint32_t lbo, uint32_t sbo) {
  return static_cast<uint64_t>((addr & 0x3ffff) >> 4) | static_cast<uint64_t>(lbo >> 4) << 16 |
         static_cast<uint64_t>(sbo >> 4) << 32 | uint64_t{1} << 62;
}

// Orders this thread's register writes (accumulators, A fragments) before the
// wgmma that follow.
__device__ __forceinline__ void wgmma_fence() {
  PD_WGMMA_ASM("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  PD_WGMMA_ASM("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void wgmma_wait() {
  PD_WGMMA_ASM("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Shared memory written through the generic proxy (st.shared, cp.async) and
// read next by wgmma: each writing thread, before the barrier.
__device__ __forceinline__ void fence_proxy_async_shared() {
  PD_WGMMA_ASM("fence.proxy.async.shared::cta;\n" ::: "memory");
}

// Keeps the compiler from moving reads or writes of accumulators that a wgmma
// in flight owns across the fence or the wait.
template <int N>
__device__ __forceinline__ void wgmma_fence_operands(float (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+f"(r[i][e])::"memory");
}

// The same for A fragments that a wgmma in flight reads.
template <int N>
__device__ __forceinline__ void wgmma_fence_operands(uint32_t (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(r[i][e])::"memory");
}

// d[64 x 64] (+)= a[64 x 16] * b[16 x 64], bf16 in, fp32 accumulators, issued
// by the whole warpgroup. a: this warp's 16 rows as an mma.sync m16n8k16 A
// fragment (warp w of the group holds rows 16w..16w+15); d: per 8-column
// block the mma.sync C fragment; b: descriptor, K-major (kTransB false) or
// N-major (true). accumulate false: d = a * b.
template <bool kTransB>
__device__ __forceinline__ void wgmma_m64n64k16_rs(float (&d)[8][4], const uint32_t (&a)[4],
                                                   uint64_t b, bool accumulate) {
  PD_WGMMA_ASM(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "
      "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, %38;\n}\n"
      : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]),
        "+f"(d[1][2]), "+f"(d[1][3]), "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]),
        "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]), "+f"(d[4][0]), "+f"(d[4][1]),
        "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),
        "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]),
        "+f"(d[7][2]), "+f"(d[7][3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate ? 1 : 0),
        "n"(kTransB ? 1 : 0));
}

#undef PD_WGMMA_ASM

}  // namespace pdserve::backend::cuda
