// The frame the prefill attention kernels share (prefill_attention.cu): the
// tile shapes, cp.async and mma.sync wrappers, the swizzled shared-memory
// layouts of Q, K and V, a thread block's share of the work (BlockWork: its
// loads from the paged cache, masks and output) and the online softmax.
// Included by prefill_attention.cu alone.
#pragma once

#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>

#include "engine/backend/cuda/paged_attention.h"

namespace pdserve::backend::cuda::prefill {

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

}  // namespace pdserve::backend::cuda::prefill
