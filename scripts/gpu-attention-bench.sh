#!/usr/bin/env bash
# On the GPU machine: builds tools/attention_bench with nvcc alone (seconds,
# no CMake), runs it (checks against the first-version paged kernel, then
# timings at 32 query / 8 KV heads, d=128), and PyTorch's SDPA at the same
# shapes with the GEMM and copy floors of the same GPU
# (tools/attention_bench/sdpa_peer.py). Results in $out:
# attention_bench.json, sdpa_peer.json, attention_bench.txt.
source "$(dirname "$0")/gpu-common.sh"
export PATH=/usr/local/cuda/bin:$PATH
mkdir -p build-attention-bench
nvcc -std=c++20 -O3 -gencode=arch=compute_90a,code=sm_90a -I. -o build-attention-bench/attention_bench \
  tools/attention_bench/attention_bench.cu engine/backend/cuda/paged_attention.cu \
  engine/backend/cuda/prefill_attention.cu common/base/logging.cpp common/base/check_scope.cpp || exit 1
rc=0
{
  build-attention-bench/attention_bench "$out/attention_bench.json" || rc=1
  PYTHONUNBUFFERED=1 python3 tools/attention_bench/sdpa_peer.py "$out/sdpa_peer.json" || rc=1
} 2>&1 | tee "$out/attention_bench.txt"
exit $rc
