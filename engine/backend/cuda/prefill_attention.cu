// Prefill attention on tensor cores, FlashAttention-2 style. One thread block
// per (query head, tile of 128 queries, sequence); each warp owns 16 * kM
// query rows (eight warps of 16 rows, or four of 32: then every K or V
// fragment read from shared memory feeds two MMAs). K and V tiles are gathered
// from the paged cache with cp.async into swizzled shared memory, two stages
// deep; S = Q K^T and O += P V run on mma.sync m16n8k16 (bf16 in, fp32
// accumulate), the online softmax stays in registers, and P goes from the S
// accumulators straight into A fragments. Key tiles past the causal diagonal
// (or before the sliding window) are never loaded; a warp whose rows are all
// masked in a tile skips it, and only tiles crossing a mask boundary pay for
// the element-wise mask.
#include <cuda_bf16.h>

#include <cmath>

#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/prefill_attention.h"

namespace pdserve::backend::cuda {
namespace {

constexpr int kBlockM = 128;  // queries per thread block

// Per (head_dim, 16-row fragments per warp): warps, keys per tile, and
// whether Q's A fragments stay in registers (the register budget allows 128
// columns of them) or are reloaded from shared memory.
template <int D, int kM>
struct Tile {
  static constexpr int kWarps = kBlockM / (16 * kM);
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kN = D == 256 ? 32 : 64;
  static constexpr bool kQInRegs = D * kM <= 128;
  static constexpr int kChunks = D / 8;                          // 16-byte chunks per row
  static constexpr int kSmemBytes = (kBlockM + 4 * kN) * D * 2;  // Q, two stages of K and V
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

// Element offset of 16-byte chunk `chunk` of row `row` in a [rows, D] tile:
// chunks are XOR-swizzled by row so that ldmatrix's eight rows hit eight
// different bank groups.
template <int D>
__device__ __forceinline__ int swizzle(int row, int chunk) {
  return row * D + ((chunk ^ (row & 7)) << 3);
}

template <int D, bool kWindow, int kM>
__global__ void __launch_bounds__(Tile<D, kM>::kThreads, 1)
    prefill_attention_kernel(const AttentionArgs a) {
  using T = Tile<D, kM>;
  constexpr int kN = T::kN, kChunks = T::kChunks, kThreads = T::kThreads;
  extern __shared__ __align__(128) uint16_t smem[];
  uint16_t* s_q = smem;               // [kBlockM, D]
  uint16_t* s_k = s_q + kBlockM * D;  // [2][kN, D]
  uint16_t* s_v = s_k + 2 * kN * D;   // [2][kN, D]

  const int h = blockIdx.x, s = blockIdx.z;
  const int q_begin = a.query_start[s];
  const int q_len = a.query_start[s + 1] - q_begin;
  const int m0 = (gridDim.y - 1 - blockIdx.y) * kBlockM;  // the longest tiles start first
  if (m0 >= q_len) return;
  const int rows = min(kBlockM, q_len - m0);
  const int first_pos = a.context_lens[s] - q_len + m0;  // position of this tile's row 0
  const int key_end = first_pos + rows;                  // keys [key_begin, key_end)
  const int key_begin = kWindow ? max(0, first_pos - a.sliding_window + 1) : 0;
  const int num_tiles = (key_end - key_begin + kN - 1) / kN;
  const int kvh = h / (a.num_heads / a.num_kv_heads);
  const int64_t kv_dim = static_cast<int64_t>(a.num_kv_heads) * D;
  const int64_t q_stride = static_cast<int64_t>(a.num_heads) * D;
  const int32_t* table = a.block_tables + static_cast<int64_t>(s) * a.max_blocks;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

  // Q tile: commit group 0.
  for (int i = tid; i < kBlockM * kChunks; i += kThreads) {
    const int r = i / kChunks, c = i % kChunks;
    const bool ok = r < rows;
    const uint16_t* src = a.q + (q_begin + m0 + (ok ? r : 0)) * q_stride + h * D + c * 8;
    cp_async16(smem_addr(s_q + swizzle<D>(r, c)), src, ok);
  }
  cp_async_commit();
  // K and V rows of key tile `tile` into `stage`; keys past key_end zero-filled.
  auto load_kv = [&](int tile, int stage) {
    const int n0 = key_begin + tile * kN;
    for (int i = tid; i < kN * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks, key = n0 + r;
      const bool ok = key < key_end;
      int64_t k_off = 0;
      if (ok) {
        const int64_t block = table[key / a.block_size];
        k_off = (block * 2 * a.block_size + key % a.block_size) * kv_dim + kvh * D + c * 8;
      }
      const int dst = stage * kN * D + swizzle<D>(r, c);
      cp_async16(smem_addr(s_k + dst), a.kv + k_off, ok);
      cp_async16(smem_addr(s_v + dst), a.kv + k_off + a.block_size * kv_dim, ok);
    }
  };
  load_kv(0, 0);
  cp_async_commit();

  // This warp's rows: CTA rows [row0, row0 + 16 * kM); in fragment m, the
  // lane holds rows row0 + 16 * m + g and that + 8.
  const int row0 = warp * 16 * kM, g = lane >> 2, t4 = lane & 3;
  const bool warp_live = row0 < rows;
  const int warp_first = first_pos + row0;
  const int warp_last = first_pos + min(row0 + 16 * kM - 1, rows - 1);
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
        ldmatrix_x4(q_frag[m][kk], smem_addr(s_q + swizzle<D>(a_row + 16 * m, kk * 2 + a_chunk)));
  }

  float o[kM][D / 8][4];
#pragma unroll
  for (int m = 0; m < kM; ++m)
#pragma unroll
    for (int d = 0; d < D / 8; ++d) o[m][d][0] = o[m][d][1] = o[m][d][2] = o[m][d][3] = 0.0f;
  float row_max[kM][2], row_sum[kM][2];
#pragma unroll
  for (int m = 0; m < kM; ++m) {
    row_max[m][0] = row_max[m][1] = -INFINITY;
    row_sum[m][0] = row_sum[m][1] = 0.0f;
  }

  for (int tile = 0; tile < num_tiles; ++tile) {
    const int stage = tile & 1;
    if (tile + 1 < num_tiles) load_kv(tile + 1, stage ^ 1);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const int n0 = key_begin + tile * kN;
    const bool skip = !warp_live || n0 > warp_last ||
                      (kWindow && n0 + kN - 1 < warp_first - a.sliding_window + 1);
    if (!skip) {
      const uint16_t* k_tile = s_k + stage * kN * D;
      const uint16_t* v_tile = s_v + stage * kN * D;
      float sc[kM][kN / 8][4];
#pragma unroll
      for (int m = 0; m < kM; ++m)
#pragma unroll
        for (int n = 0; n < kN / 8; ++n)
          sc[m][n][0] = sc[m][n][1] = sc[m][n][2] = sc[m][n][3] = 0.0f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        uint32_t qa[kM][4];
#pragma unroll
        for (int m = 0; m < kM; ++m) {
          if constexpr (T::kQInRegs) {
#pragma unroll
            for (int i = 0; i < 4; ++i) qa[m][i] = q_frag[m][kk][i];
          } else {
            ldmatrix_x4(qa[m], smem_addr(s_q + swizzle<D>(a_row + 16 * m, kk * 2 + a_chunk)));
          }
        }
#pragma unroll
        for (int nn = 0; nn < kN / 16; ++nn) {
          uint32_t kb[4];
          ldmatrix_x4(kb, smem_addr(k_tile + swizzle<D>(nn * 16 + k_row, kk * 2 + k_chunk)));
#pragma unroll
          for (int m = 0; m < kM; ++m) mma_bf16_x2(sc[m][2 * nn], sc[m][2 * nn + 1], qa[m], kb);
        }
      }
      const bool need_mask =
          n0 + kN - 1 > warp_first || (kWindow && n0 < warp_last - a.sliding_window + 1);
      if (need_mask) {
#pragma unroll
        for (int m = 0; m < kM; ++m)
#pragma unroll
          for (int n = 0; n < kN / 8; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
              const int key = n0 + n * 8 + 2 * t4 + (e & 1);
              const int pos = warp_first + 16 * m + g + (e >> 1) * 8;
              if (key > pos || (kWindow && key <= pos - a.sliding_window)) sc[m][n][e] = -INFINITY;
            }
      }
      // Online softmax for rows g (i = 0) and g + 8 (i = 1) of each
      // fragment; a quad of lanes holds a row.
#pragma unroll
      for (int m = 0; m < kM; ++m)
#pragma unroll
        for (int i = 0; i < 2; ++i) {
          float mx = row_max[m][i];
#pragma unroll
          for (int n = 0; n < kN / 8; ++n)
            mx = fmaxf(mx, fmaxf(sc[m][n][2 * i], sc[m][n][2 * i + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          const float base = mx == -INFINITY ? 0.0f : mx * scale_log2;
          const float corr = fast_exp2(row_max[m][i] * scale_log2 - base);
          row_max[m][i] = mx;
          float sum = 0.0f;
#pragma unroll
          for (int n = 0; n < kN / 8; ++n) {
            sc[m][n][2 * i] = fast_exp2(fmaf(sc[m][n][2 * i], scale_log2, -base));
            sc[m][n][2 * i + 1] = fast_exp2(fmaf(sc[m][n][2 * i + 1], scale_log2, -base));
            sum += sc[m][n][2 * i] + sc[m][n][2 * i + 1];
          }
          row_sum[m][i] = row_sum[m][i] * corr + sum;
#pragma unroll
          for (int d = 0; d < D / 8; ++d) {
            o[m][d][2 * i] *= corr;
            o[m][d][2 * i + 1] *= corr;
          }
        }
        // O += P V, P's accumulators repacked as A fragments of 16 keys.
#pragma unroll
      for (int kk = 0; kk < kN / 16; ++kk) {
        uint32_t pa[kM][4];
#pragma unroll
        for (int m = 0; m < kM; ++m) {
          pa[m][0] = pack_bf16(sc[m][2 * kk][0], sc[m][2 * kk][1]);
          pa[m][1] = pack_bf16(sc[m][2 * kk][2], sc[m][2 * kk][3]);
          pa[m][2] = pack_bf16(sc[m][2 * kk + 1][0], sc[m][2 * kk + 1][1]);
          pa[m][3] = pack_bf16(sc[m][2 * kk + 1][2], sc[m][2 * kk + 1][3]);
        }
#pragma unroll
        for (int dd = 0; dd < D / 16; ++dd) {
          uint32_t vb[4];
          ldmatrix_x4_trans(vb, smem_addr(v_tile + swizzle<D>(kk * 16 + v_row, dd * 2 + v_chunk)));
#pragma unroll
          for (int m = 0; m < kM; ++m) mma_bf16_x2(o[m][2 * dd], o[m][2 * dd + 1], pa[m], vb);
        }
      }
    }
    __syncthreads();  // the next iteration's load overwrites this stage
  }
  cp_async_wait<0>();

  // Normalise, stage this warp's rows in its own rows of s_q, then write
  // them out in 16-byte stores.
#pragma unroll
  for (int m = 0; m < kM; ++m)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float sum = row_sum[m][i];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      const int r = row0 + 16 * m + g + i * 8;
#pragma unroll
      for (int d = 0; d < D / 8; ++d)
        *reinterpret_cast<uint32_t*>(s_q + swizzle<D>(r, d) + 2 * t4) =
            pack_bf16(o[m][d][2 * i] * inv, o[m][d][2 * i + 1] * inv);
    }
  __syncwarp();
  for (int i = lane; i < 16 * kM * kChunks; i += 32) {
    const int r = row0 + i / kChunks, c = i % kChunks;
    if (r >= rows) break;
    *reinterpret_cast<uint4*>(a.out + (q_begin + m0 + r) * q_stride + h * D + c * 8) =
        *reinterpret_cast<const uint4*>(s_q + swizzle<D>(r, c));
  }
}

// The host-side plan: the variant for (head_dim, window, rows per warp) and its grid.
template <int D, bool kWindow, int kM>
void launch_variant(const AttentionArgs& a, int max_query_len, cudaStream_t stream) {
  using T = Tile<D, kM>;
  auto* kernel = prefill_attention_kernel<D, kWindow, kM>;
  PD_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, T::kSmemBytes));
  const dim3 grid(static_cast<unsigned>(a.num_heads),
                  static_cast<unsigned>((max_query_len + kBlockM - 1) / kBlockM),
                  static_cast<unsigned>(a.num_seqs));
  kernel<<<grid, T::kThreads, T::kSmemBytes, stream>>>(a);
  PD_CUDA_CHECK(cudaGetLastError());
}

template <int D, bool kWindow>
void launch_warp_rows(const AttentionArgs& a, int max_query_len, int warp_rows,
                      cudaStream_t stream) {
  if constexpr (D <= 128) {
    if (warp_rows == 32) return launch_variant<D, kWindow, 2>(a, max_query_len, stream);
  }
  launch_variant<D, kWindow, 1>(a, max_query_len, stream);
}

template <int D>
void launch_head_dim(const AttentionArgs& a, int max_query_len, int warp_rows,
                     cudaStream_t stream) {
  if (a.sliding_window > 0)
    launch_warp_rows<D, true>(a, max_query_len, warp_rows, stream);
  else
    launch_warp_rows<D, false>(a, max_query_len, warp_rows, stream);
}

}  // namespace

bool prefill_attention_supported(int head_dim) {
  return head_dim == 64 || head_dim == 128 || head_dim == 256;
}

int prefill_attention_warp_rows(int head_dim) {
  return head_dim <= 128 ? 32 : 16;
}

void launch_prefill_attention(const AttentionArgs& args, int max_query_len, void* stream,
                              int warp_rows) {
  PD_CHECK(prefill_attention_supported(args.head_dim))
      << "prefill_attention: no variant for head_dim " << args.head_dim;
  PD_CHECK(args.num_kv_heads > 0 && args.num_heads % args.num_kv_heads == 0)
      << "prefill_attention: " << args.num_heads << " heads over " << args.num_kv_heads
      << " KV heads";
  if (warp_rows == 0) warp_rows = prefill_attention_warp_rows(args.head_dim);
  PD_CHECK(warp_rows == 16 || (warp_rows == 32 && args.head_dim <= 128))
      << "prefill_attention: no variant of " << warp_rows << " rows per warp at head_dim "
      << args.head_dim;
  if (args.num_tokens == 0 || args.num_seqs == 0 || max_query_len <= 0) return;
  cudaStream_t s = as_stream(stream);
  switch (args.head_dim) {
    case 64: launch_head_dim<64>(args, max_query_len, warp_rows, s); break;
    case 128: launch_head_dim<128>(args, max_query_len, warp_rows, s); break;
    default: launch_head_dim<256>(args, max_query_len, warp_rows, s); break;
  }
}

}  // namespace pdserve::backend::cuda
