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
#include "engine/backend/cuda/wgmma.cuh"

namespace pdserve::backend::cuda {
namespace {

constexpr int kBlockM = 128;  // queries per thread block

// Per (head_dim, 16-row fragments per warp, wgmma): warps, keys per tile,
// stages of K and V, and whether Q's A fragments stay in registers (the
// register budget allows 128 columns of them) or are reloaded from shared
// memory. The wgmma kernel has kM = 1: eight warps, two warpgroups.
template <int D, int kM, bool kWgmma>
struct Tile {
  static constexpr int kWarps = kBlockM / (16 * kM);
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kN = kWgmma ? 128 : D == 256 ? 32 : 64;
  static constexpr int kStages = kWgmma ? 3 : 2;
  static constexpr bool kQInRegs = D * kM <= 128;
  // Q, the stages of K and V, and slack to align them to 1024 bytes.
  static constexpr int kSmemBytes = (kBlockM + 2 * kStages * kN) * D * 2 + 1024;
  static_assert(!kWgmma || (kM == 1 && kQInRegs && D % 64 == 0));
};

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16 bytes global -> shared; zero-filled when !valid (src is then not read).
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// c[16x8] += a[16x16] * b[16x8], bf16 operands, fp32 accumulators.
__device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                         uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// c0 += a * b[columns 0..7], c1 += a * b[columns 8..15]: one x4 ldmatrix of a
// 16x16 B tile feeds two MMAs.
__device__ __forceinline__ void mma_bf16_x2(float (&c0)[4], float (&c1)[4], const uint32_t (&a)[4],
                                            const uint32_t (&b)[4]) {
  mma_bf16(c0, a, b[0], b[1]);
  mma_bf16(c1, a, b[2], b[3]);
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Element offset of 16-byte chunk `chunk` of row `row` in a [rows, D] Q tile:
// chunks are XOR-swizzled by row so that ldmatrix's eight rows hit eight
// different bank groups.
template <int D>
__device__ __forceinline__ int swizzle(int row, int chunk) {
  return row * D + ((chunk ^ (row & 7)) << 3);
}

// Element offset of 16-byte chunk `chunk` of row `row` in a [kN, D] K or V
// tile: blocks of 64 columns, each [kN rows][128 bytes] with the chunks
// XOR-swizzled by row, which is wgmma's 128-byte swizzle layout (a 1024-byte
// aligned tile) and as free of bank conflicts for ldmatrix.
template <int kN>
__device__ __forceinline__ int kv_swizzle(int row, int chunk) {
  return (chunk >> 3) * kN * 64 + row * 64 + (((chunk & 7) ^ (row & 7)) << 3);
}

// The 64-column block `block` of a row fragment of 8-column blocks, as
// wgmma m64n64's accumulator.
template <int N>
__device__ __forceinline__ float (&n64(float (&f)[N][4], int block))[8][4] {
  return *reinterpret_cast<float(*)[8][4]>(&f[block * 8][0]);
}

// P's accumulators of keys [16 kk, 16 kk + 16) repacked as an A fragment.
template <int N>
__device__ __forceinline__ void p_fragment(const float (&sc)[N][4], int kk, uint32_t (&pa)[4]) {
  pa[0] = pack_bf16(sc[2 * kk][0], sc[2 * kk][1]);
  pa[1] = pack_bf16(sc[2 * kk][2], sc[2 * kk][3]);
  pa[2] = pack_bf16(sc[2 * kk + 1][0], sc[2 * kk + 1][1]);
  pa[3] = pack_bf16(sc[2 * kk + 1][2], sc[2 * kk + 1][3]);
}

// Shared memory of a thread block, 1024-byte aligned (wgmma's swizzled
// operands): Q [kBlockM, D], then K and V [kStages][kN, D] each.
struct Smem {
  uint16_t *q, *k, *v;
};
template <int D, int kN, int kStages>
__device__ __forceinline__ Smem carve_smem(uint16_t* raw) {
  uint16_t* q = raw + ((1024 - (smem_addr(raw) & 1023)) & 1023) / 2;
  return Smem{q, q + kBlockM * D, q + kBlockM * D + kStages * kN * D};
}

// One thread block's share of the work: query head h, queries
// [m0, m0 + rows) of sequence s, and the keys [key_begin, key_end) they see.
template <int D, int kN, bool kWindow>
struct BlockWork {
  const AttentionArgs& a;
  int h, q_begin, q_len, m0, rows, first_pos, key_begin, key_end, num_tiles, kvh;
  int64_t kv_dim, q_stride;
  const int32_t* table;

  __device__ explicit BlockWork(const AttentionArgs& args) : a(args) {
    const int s = blockIdx.z;
    h = blockIdx.x;
    q_begin = a.query_start[s];
    q_len = a.query_start[s + 1] - q_begin;
    m0 = (gridDim.y - 1 - blockIdx.y) * kBlockM;  // the longest tiles start first
    rows = min(kBlockM, q_len - m0);
    first_pos = a.context_lens[s] - q_len + m0;  // position of this tile's row 0
    key_end = first_pos + rows;
    key_begin = kWindow ? max(0, first_pos - a.sliding_window + 1) : 0;
    num_tiles = (key_end - key_begin + kN - 1) / kN;
    kvh = h / (a.num_heads / a.num_kv_heads);
    kv_dim = static_cast<int64_t>(a.num_kv_heads) * D;
    q_stride = static_cast<int64_t>(a.num_heads) * D;
    table = a.block_tables + static_cast<int64_t>(s) * a.max_blocks;
  }
  __device__ bool empty() const { return m0 >= q_len; }

  // The Q tile, rows past `rows` zero-filled.
  __device__ void load_q(uint16_t* s_q, int tid, int threads) const {
    for (int i = tid; i < kBlockM * (D / 8); i += threads) {
      const int r = i / (D / 8), c = i % (D / 8);
      const bool ok = r < rows;
      const uint16_t* src = a.q + (q_begin + m0 + (ok ? r : 0)) * q_stride + h * D + c * 8;
      cp_async16(smem_addr(s_q + swizzle<D>(r, c)), src, ok);
    }
  }
  // K and V rows of key tile `tile` into `stage`; keys past key_end zero-filled.
  __device__ void load_kv(const Smem& sm, int tile, int stage, int tid, int threads) const {
    const int n0 = key_begin + tile * kN;
    for (int i = tid; i < kN * (D / 8); i += threads) {
      const int r = i / (D / 8), c = i % (D / 8), key = n0 + r;
      const bool ok = key < key_end;
      int64_t k_off = 0;
      if (ok) {
        const int64_t block = table[key / a.block_size];
        k_off = (block * 2 * a.block_size + key % a.block_size) * kv_dim + kvh * D + c * 8;
      }
      const int dst = stage * kN * D + kv_swizzle<kN>(r, c);
      cp_async16(smem_addr(sm.k + dst), a.kv + k_off, ok);
      cp_async16(smem_addr(sm.v + dst), a.kv + k_off + a.block_size * kv_dim, ok);
    }
  }
  // True when all of rows [r0, r0 + n) are masked for key tile n0.
  __device__ bool masked(int r0, int n, int n0) const {
    if (r0 >= rows) return true;
    const int first = first_pos + r0, last = first_pos + min(r0 + n - 1, rows - 1);
    return n0 > last || (kWindow && n0 + kN - 1 < first - a.sliding_window + 1);
  }
  // Masks the scores of kM fragments of 16 rows from row r0 against key tile
  // n0 (the causal diagonal, the window), when the tile crosses a boundary.
  template <int kM>
  __device__ void mask(float (&sc)[kM][kN / 8][4], int r0, int n0, int lane) const {
    const int first = first_pos + r0, last = first_pos + min(r0 + 16 * kM - 1, rows - 1);
    if (n0 + kN - 1 <= first && !(kWindow && n0 < last - a.sliding_window + 1)) return;
    const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
    for (int m = 0; m < kM; ++m)
#pragma unroll
      for (int n = 0; n < kN / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = n0 + n * 8 + 2 * t4 + (e & 1);
          const int pos = first + 16 * m + g + (e >> 1) * 8;
          if (key > pos || (kWindow && key <= pos - a.sliding_window)) sc[m][n][e] = -INFINITY;
        }
  }
  // Normalises kM fragments of O from row r0 by their sums, stages them in
  // the warp's own rows of s_q and writes them out in 16-byte stores.
  template <int kM>
  __device__ void store(const float (&o)[kM][D / 8][4], float (&row_sum)[kM][2], uint16_t* s_q,
                        int r0, int lane) const {
    const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
    for (int m = 0; m < kM; ++m)
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        float sum = row_sum[m][i];
        sum += __shfl_xor_sync(0xffffffffu, sum, 1);
        sum += __shfl_xor_sync(0xffffffffu, sum, 2);
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        const int r = r0 + 16 * m + g + i * 8;
#pragma unroll
        for (int d = 0; d < D / 8; ++d)
          *reinterpret_cast<uint32_t*>(s_q + swizzle<D>(r, d) + 2 * t4) =
              pack_bf16(o[m][d][2 * i] * inv, o[m][d][2 * i + 1] * inv);
      }
    __syncwarp();
    for (int i = lane; i < 16 * kM * (D / 8); i += 32) {
      const int r = r0 + i / (D / 8), c = i % (D / 8);
      if (r >= rows) break;
      *reinterpret_cast<uint4*>(a.out + (q_begin + m0 + r) * q_stride + h * D + c * 8) =
          *reinterpret_cast<const uint4*>(s_q + swizzle<D>(r, c));
    }
  }
};

// Online softmax of one 16-row fragment's scores against a new key tile
// (rows g and g + 8, each held by a quad of lanes): the scores become P, the
// running max and sum move on, and corr gets each row's factor for O.
template <int kN>
__device__ __forceinline__ void online_softmax(float (&sc)[kN / 8][4], float (&row_max)[2],
                                               float (&row_sum)[2], float (&corr)[2],
                                               float scale_log2) {
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float mx = row_max[i];
#pragma unroll
    for (int n = 0; n < kN / 8; ++n) mx = fmaxf(mx, fmaxf(sc[n][2 * i], sc[n][2 * i + 1]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float base = mx == -INFINITY ? 0.0f : mx * scale_log2;
    corr[i] = fast_exp2(row_max[i] * scale_log2 - base);
    row_max[i] = mx;
    float sum = 0.0f;
#pragma unroll
    for (int n = 0; n < kN / 8; ++n) {
      sc[n][2 * i] = fast_exp2(fmaf(sc[n][2 * i], scale_log2, -base));
      sc[n][2 * i + 1] = fast_exp2(fmaf(sc[n][2 * i + 1], scale_log2, -base));
      sum += sc[n][2 * i] + sc[n][2 * i + 1];
    }
    row_sum[i] = row_sum[i] * corr[i] + sum;
  }
}

// O's rows g (corr[0]) and g + 8 (corr[1]) of one fragment, scaled.
template <int D>
__device__ __forceinline__ void rescale(float (&o)[D / 8][4], const float (&corr)[2]) {
#pragma unroll
  for (int d = 0; d < D / 8; ++d) {
    o[d][0] *= corr[0];
    o[d][1] *= corr[0];
    o[d][2] *= corr[1];
    o[d][3] *= corr[1];
  }
}

template <int N, int M>
__device__ __forceinline__ void zero(float (&f)[N][M][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int j = 0; j < M; ++j) f[i][j][0] = f[i][j][1] = f[i][j][2] = f[i][j][3] = 0.0f;
}

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
  const int cc = current_compute_capability();
  launch_prefill_attention(args, max_query_len, stream, plan_prefill_attention(args.head_dim, cc));
}

void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream,
                              PrefillKernel kernel) {
  PD_CHECK(prefill_attention_supported(args.head_dim))
      << "prefill_attention: no variant for head_dim " << args.head_dim;
  PD_CHECK(args.num_kv_heads > 0 && args.num_heads % args.num_kv_heads == 0)
      << "prefill_attention: " << args.num_heads << " heads over " << args.num_kv_heads
      << " KV heads";
  PD_CHECK(prefill_attention_runs(kernel, args.head_dim, current_compute_capability()))
      << "prefill_attention: the " << prefill_kernel_name(kernel)
      << " kernel does not run at head_dim " << args.head_dim << " on this GPU";
  if (args.num_tokens == 0 || args.num_seqs == 0 || max_query_len <= 0) return;
  cudaStream_t s = as_stream(stream);
  switch (args.head_dim) {
    case 64: launch_head_dim<64>(args, max_query_len, kernel, s); break;
    case 128: launch_head_dim<128>(args, max_query_len, kernel, s); break;
    default: launch_head_dim<256>(args, max_query_len, kernel, s); break;
  }
}

}  // namespace pdserve::backend::cuda
