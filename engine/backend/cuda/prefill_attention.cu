// Prefill attention on tensor cores, FlashAttention-2 style. One thread block
// per (query head, tile of 128 queries, sequence). K and V tiles are gathered
// from the paged cache with cp.async into swizzled shared memory; the online
// softmax stays in registers, and P goes from the S accumulators straight into
// A fragments. Key tiles past the causal diagonal (or before the sliding
// window) are never loaded, and only tiles crossing a mask boundary pay for
// the element-wise mask. Two kernels share that frame:
//  - mma.sync m16n8k16 (any tensor-core GPU): each warp owns 16 * kM query
//    rows (eight warps of 16 rows, or four of 32: then every K or V fragment
//    read from shared memory feeds two MMAs) and skips a tile whose rows are
//    all masked; K/V two stages deep;
//  - wgmma m64n64k16 (Hopper, sm_90a): two warpgroups of 64 rows, Q and P as
//    register A operands, K and V read by the tensor cores from shared memory
//    through descriptors (K-major for S = Q K^T, N-major for O += P V), three
//    stages deep. Each warpgroup issues S of tile j and O += P V of tile j - 1
//    back to back and runs the softmax of tile j while the second is in
//    flight; it skips a tile only when all its 64 rows are masked.
// The host-side plan picks the kernel by head_dim and compute capability.
#include <cuda_bf16.h>

#include <cmath>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/prefill_attention.h"
#include "engine/backend/cuda/prefill_attention_tile.cuh"
#include "engine/backend/cuda/wgmma.cuh"

namespace pdserve::backend::cuda {
namespace prefill {
namespace {

template <int D, bool kWindow, int kM>
__global__ void __launch_bounds__(Tile<D, kM, false>::kThreads, 1)
    prefill_attention_kernel(const AttentionArgs a) {
  using T = Tile<D, kM, false>;
  constexpr int kN = T::kN, kThreads = T::kThreads;
  extern __shared__ uint16_t smem_raw[];
  const Smem sm = carve_smem<D, kN, T::kStages>(smem_raw);
  const BlockWork<D, kN, kWindow> w(a);
  if (w.empty()) return;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  w.load_q(sm.q, tid, kThreads);
  cp_async_commit();
  w.load_kv(sm, 0, 0, tid, kThreads);
  cp_async_commit();

  // This warp's rows: [row0, row0 + 16 * kM); in fragment m, the lane holds
  // rows row0 + 16 * m + (lane >> 2) and that + 8.
  const int row0 = warp * 16 * kM;
  const float scale_log2 = a.scale * 1.4426950408889634f;
  // ldmatrix lane addresses (elements, before the swizzle): A rows of Q,
  // B rows of K (non-transposed) and of V (transposed).
  const int a_row = row0 + (lane & 15), a_chunk = lane >> 4;
  const int k_row = (lane & 7) + ((lane >> 4) << 3), k_chunk = (lane >> 3) & 1;
  const int v_row = (lane & 7) + (((lane >> 3) & 1) << 3), v_chunk = lane >> 4;

  uint32_t q_frag[T::kQInRegs ? kM : 1][T::kQInRegs ? D / 16 : 1][4];
  if constexpr (T::kQInRegs) {
    cp_async_wait<1>();
    __syncthreads();
#pragma unroll
    for (int m = 0; m < kM; ++m)
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk)
        ldmatrix_x4(q_frag[m][kk], smem_addr(sm.q + swizzle<D>(a_row + 16 * m, kk * 2 + a_chunk)));
  }

  float o[kM][D / 8][4];
  zero(o);
  float row_max[kM][2], row_sum[kM][2];
#pragma unroll
  for (int m = 0; m < kM; ++m) {
    row_max[m][0] = row_max[m][1] = -INFINITY;
    row_sum[m][0] = row_sum[m][1] = 0.0f;
  }

  for (int tile = 0; tile < w.num_tiles; ++tile) {
    const int stage = tile & 1;
    if (tile + 1 < w.num_tiles) w.load_kv(sm, tile + 1, stage ^ 1, tid, kThreads);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const int n0 = w.key_begin + tile * kN;
    if (!w.masked(row0, 16 * kM, n0)) {
      const uint16_t* k_tile = sm.k + stage * kN * D;
      const uint16_t* v_tile = sm.v + stage * kN * D;
      float sc[kM][kN / 8][4];
      zero(sc);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t qa[kM][4];
#pragma unroll
        for (int m = 0; m < kM; ++m) {
          if constexpr (T::kQInRegs) {
#pragma unroll
            for (int i = 0; i < 4; ++i) qa[m][i] = q_frag[m][kk][i];
          } else {
            ldmatrix_x4(qa[m], smem_addr(sm.q + swizzle<D>(a_row + 16 * m, kk * 2 + a_chunk)));
          }
        }
#pragma unroll
        for (int nn = 0; nn < kN / 16; ++nn) {
          uint32_t kb[4];
          ldmatrix_x4(kb, smem_addr(k_tile + kv_swizzle<kN>(nn * 16 + k_row, kk * 2 + k_chunk)));
#pragma unroll
          for (int m = 0; m < kM; ++m) mma_bf16_x2(sc[m][2 * nn], sc[m][2 * nn + 1], qa[m], kb);
        }
      }
      w.mask(sc, row0, n0, lane);
#pragma unroll
      for (int m = 0; m < kM; ++m) {
        float corr[2];
        online_softmax<kN>(sc[m], row_max[m], row_sum[m], corr, scale_log2);
        rescale<D>(o[m], corr);
      }
      // O += P V, P's accumulators repacked as A fragments of 16 keys.
#pragma unroll
      for (int kk = 0; kk < kN / 16; ++kk) {
        uint32_t pa[kM][4];
#pragma unroll
        for (int m = 0; m < kM; ++m) p_fragment(sc[m], kk, pa[m]);
#pragma unroll
        for (int dd = 0; dd < D / 16; ++dd) {
          uint32_t vb[4];
          ldmatrix_x4_trans(vb,
                            smem_addr(v_tile + kv_swizzle<kN>(kk * 16 + v_row, dd * 2 + v_chunk)));
#pragma unroll
          for (int m = 0; m < kM; ++m) mma_bf16_x2(o[m][2 * dd], o[m][2 * dd + 1], pa[m], vb);
        }
      }
    }
    __syncthreads();  // the next iteration's load overwrites this stage
  }
  cp_async_wait<0>();
  w.store(o, row_sum, sm.q, row0, lane);
}

// S = Q K^T for one warpgroup: Q [64, D] as A fragments, K tile [kN, D] as a
// K-major B (16 columns of d per step: 32 bytes into a 128-byte swizzled
// row, then the next 64-column block). Committed, not waited for.
template <int D, int kN>
__device__ __forceinline__ void issue_s(float (&sc)[kN / 8][4], const uint32_t (&q)[D / 16][4],
                                        const uint16_t* k_tile) {
  const uint32_t k_addr = smem_addr(k_tile);
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
#pragma unroll
    for (int nb = 0; nb < kN / 64; ++nb)
      wgmma_m64n64k16_rs<false>(
          n64(sc, nb), q[kk],
          wgmma_desc_sw128(k_addr + (kk >> 2) * kN * 128 + nb * 64 * 128 + (kk & 3) * 32, 16, 1024),
          kk > 0);
  wgmma_commit();
}

// O += P V for one warpgroup: P [64, kN] as A fragments, V tile [kN, D] as an
// N-major B (16 keys per step: two groups of eight 128-byte rows; 64 columns
// of d per MMA, the next block kN rows further). Committed, not waited for.
template <int D, int kN>
__device__ __forceinline__ void issue_pv(float (&o)[D / 8][4], const uint32_t (&pa)[kN / 16][4],
                                         const uint16_t* v_tile) {
  const uint32_t v_addr = smem_addr(v_tile);
#pragma unroll
  for (int kk = 0; kk < kN / 16; ++kk)
#pragma unroll
    for (int db = 0; db < D / 64; ++db)
      wgmma_m64n64k16_rs<true>(
          n64(o, db), pa[kk],
          wgmma_desc_sw128(v_addr + db * kN * 128 + kk * 16 * 128, kN * 128, 1024), true);
  wgmma_commit();
}

template <int D, bool kWindow>
__global__ void __launch_bounds__(Tile<D, 1, true>::kThreads, 1)
    prefill_attention_wgmma_kernel(const AttentionArgs a) {
  using T = Tile<D, 1, true>;
  constexpr int kN = T::kN, kThreads = T::kThreads, kStages = T::kStages;
  extern __shared__ uint16_t smem_raw[];
  const Smem sm = carve_smem<D, kN, kStages>(smem_raw);
  const BlockWork<D, kN, kWindow> w(a);
  if (w.empty()) return;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
  // Commit groups: Q, tile 0, tile 1 (maybe empty), then one per iteration.
  w.load_q(sm.q, tid, kThreads);
  cp_async_commit();
  w.load_kv(sm, 0, 0, tid, kThreads);
  cp_async_commit();
  if (w.num_tiles > 1) w.load_kv(sm, 1, 1, tid, kThreads);
  cp_async_commit();

  // This warp's 16 rows from row0; its warpgroup's 64 from group_row0.
  const int row0 = warp * 16, group_row0 = (warp >> 2) * 64;
  const float scale_log2 = a.scale * 1.4426950408889634f;
  uint32_t q_frag[D / 16][4];
  cp_async_wait<2>();
  __syncthreads();
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk)
    ldmatrix_x4(q_frag[kk], smem_addr(sm.q + swizzle<D>(row0 + (lane & 15), kk * 2 + (lane >> 4))));

  float o[1][D / 8][4];
  zero(o);
  float row_max[1][2] = {{-INFINITY, -INFINITY}}, row_sum[1][2] = {{0.0f, 0.0f}};
  uint32_t pa[kN / 16][4];  // P of the previous live tile, whose P V is pending
  bool pending = false;
  for (int tile = 0; tile < w.num_tiles; ++tile) {
    cp_async_wait<1>();
    fence_proxy_async_shared();  // the tensor cores read what cp.async wrote
    __syncthreads();
    const int n0 = w.key_begin + tile * kN;
    const bool live = !w.masked(group_row0, 64, n0);
    const uint16_t* k_tile = sm.k + (tile % kStages) * kN * D;
    const uint16_t* v_prev = sm.v + ((tile + kStages - 1) % kStages) * kN * D;
    float sc[1][kN / 8][4];
    float corr[2];
    // A warpgroup's live tiles are consecutive: the first one has no P V
    // pending, the one after the last has only that. Each case is one branch
    // holding its whole wgmma sequence (split, ptxas serializes the wgmma).
    if (live && pending) {
      // The softmax of this tile runs while the previous tile's P V is in flight.
      wgmma_fence();
      issue_s<D, kN>(sc[0], q_frag, k_tile);
      issue_pv<D, kN>(o[0], pa, v_prev);
      wgmma_wait<1>();
      wgmma_fence_operands(sc[0]);
      w.mask(sc, row0, n0, lane);
      online_softmax<kN>(sc[0], row_max[0], row_sum[0], corr, scale_log2);
      wgmma_wait<0>();
      wgmma_fence_operands(o[0]);
      wgmma_fence_operands(pa);  // the P V just waited for read these registers
      rescale<D>(o[0], corr);
#pragma unroll
      for (int kk = 0; kk < kN / 16; ++kk) p_fragment(sc[0], kk, pa[kk]);
    } else if (live) {
      wgmma_fence();
      issue_s<D, kN>(sc[0], q_frag, k_tile);
      wgmma_wait<0>();
      wgmma_fence_operands(sc[0]);
      w.mask(sc, row0, n0, lane);
      online_softmax<kN>(sc[0], row_max[0], row_sum[0], corr, scale_log2);
      rescale<D>(o[0], corr);
#pragma unroll
      for (int kk = 0; kk < kN / 16; ++kk) p_fragment(sc[0], kk, pa[kk]);
    } else if (pending) {
      wgmma_fence();
      issue_pv<D, kN>(o[0], pa, v_prev);
      wgmma_wait<0>();
      wgmma_fence_operands(o[0]);
    }
    pending = live;
    __syncthreads();  // every warpgroup is done with the previous tile's stage
    if (tile + 2 < w.num_tiles) w.load_kv(sm, tile + 2, (tile + 2) % kStages, tid, kThreads);
    cp_async_commit();
  }
  if (pending) {
    wgmma_fence();
    issue_pv<D, kN>(o[0], pa, sm.v + ((w.num_tiles - 1) % kStages) * kN * D);
    wgmma_wait<0>();
    wgmma_fence_operands(o[0]);
  }
  cp_async_wait<0>();
  w.store(o, row_sum, sm.q, row0, lane);
}

// The kernel for (head_dim, window, kernel) and its grid.
template <int D, bool kWindow, int kM, bool kWgmma>
void launch_variant(const AttentionArgs& a, int max_query_len, cudaStream_t stream) {
  using T = Tile<D, kM, kWgmma>;
  void (*kernel)(AttentionArgs);
  if constexpr (kWgmma)
    kernel = prefill_attention_wgmma_kernel<D, kWindow>;
  else
    kernel = prefill_attention_kernel<D, kWindow, kM>;
  PD_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, T::kSmemBytes));
  const dim3 grid(static_cast<unsigned>(a.num_heads),
                  static_cast<unsigned>((max_query_len + kBlockM - 1) / kBlockM),
                  static_cast<unsigned>(a.num_seqs));
  kernel<<<grid, T::kThreads, T::kSmemBytes, stream>>>(a);
  PD_CUDA_CHECK(cudaGetLastError());
}

template <int D, bool kWindow>
void launch_kernel(const AttentionArgs& a, int max_query_len, PrefillKernel kernel,
                   cudaStream_t stream) {
  if constexpr (D <= 128) {
    if (kernel == PrefillKernel::kWgmma)
      return launch_variant<D, kWindow, 1, true>(a, max_query_len, stream);
    if (kernel == PrefillKernel::kMma32)
      return launch_variant<D, kWindow, 2, false>(a, max_query_len, stream);
  }
  launch_variant<D, kWindow, 1, false>(a, max_query_len, stream);
}

template <int D>
void launch_head_dim(const AttentionArgs& a, int max_query_len, PrefillKernel kernel,
                     cudaStream_t stream) {
  if (a.sliding_window > 0)
    launch_kernel<D, true>(a, max_query_len, kernel, stream);
  else
    launch_kernel<D, false>(a, max_query_len, kernel, stream);
}

// Compute capability of the current device, as major * 10 + minor.
int current_compute_capability() {
  int device = 0, major = 0, minor = 0;
  PD_CUDA_CHECK(cudaGetDevice(&device));
  PD_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  PD_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return major * 10 + minor;
}

}  // namespace
}  // namespace prefill

bool prefill_attention_supported(int head_dim) {
  return head_dim == 64 || head_dim == 128 || head_dim == 256;
}

bool prefill_attention_runs(PrefillKernel kernel, int head_dim, int compute_capability) {
  if (!prefill_attention_supported(head_dim)) return false;
  switch (kernel) {
    case PrefillKernel::kMma16: return true;
    case PrefillKernel::kMma32: return head_dim <= 128;
    case PrefillKernel::kWgmma: return head_dim <= 128 && compute_capability == 90;
  }
  return false;
}

// Measured on an H100 (tools/attention_bench, causal 4096, 32/8 heads):
// wgmma 264 TFLOP/s against mma.sync's 218 at head_dim 128, but 203 against
// 215 at head_dim 64, where mma.sync stays.
PrefillKernel plan_prefill_attention(int head_dim, int compute_capability) {
  if (head_dim == 128 &&
      prefill_attention_runs(PrefillKernel::kWgmma, head_dim, compute_capability))
    return PrefillKernel::kWgmma;
  return head_dim <= 128 ? PrefillKernel::kMma32 : PrefillKernel::kMma16;
}

const char* prefill_kernel_name(PrefillKernel kernel) {
  switch (kernel) {
    case PrefillKernel::kMma16: return "mma.sync, 16 rows per warp";
    case PrefillKernel::kMma32: return "mma.sync, 32 rows per warp";
    case PrefillKernel::kWgmma: return "wgmma";
  }
  return "?";
}

void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream) {
  const int cc = prefill::current_compute_capability();
  launch_prefill_attention(args, max_query_len, stream, plan_prefill_attention(args.head_dim, cc));
}

void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream,
                              PrefillKernel kernel) {
  PD_CHECK(prefill_attention_supported(args.head_dim))
      << "prefill_attention: no variant for head_dim " << args.head_dim;
  PD_CHECK(args.num_kv_heads > 0 && args.num_heads % args.num_kv_heads == 0)
      << "prefill_attention: " << args.num_heads << " heads over " << args.num_kv_heads
      << " KV heads";
  PD_CHECK(prefill_attention_runs(kernel, args.head_dim, prefill::current_compute_capability()))
      << "prefill_attention: the " << prefill_kernel_name(kernel)
      << " kernel does not run at head_dim " << args.head_dim << " on this GPU";
  if (args.num_tokens == 0 || args.num_seqs == 0 || max_query_len <= 0) return;
  cudaStream_t s = as_stream(stream);
  switch (args.head_dim) {
    case 64: prefill::launch_head_dim<64>(args, max_query_len, kernel, s); break;
    case 128: prefill::launch_head_dim<128>(args, max_query_len, kernel, s); break;
    default: prefill::launch_head_dim<256>(args, max_query_len, kernel, s); break;
  }
}

}  // namespace pdserve::backend::cuda
