#!/usr/bin/env bash
# On the GPU machine (see ../shared/device/README.md): builds the CUDA
# configuration, runs every test (GPU tests included), compute-sanitizer on
# the CUDA op tests, and a GPU generation on the demo model. Logs go to
# ${OUT:-/tmp/pdserve-gpu}.
source "$(dirname "$0")/gpu-common.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
gpu_build
ctest --test-dir build-gpu --output-on-failure -j8 > "$out/ctest.log" 2>&1
rc=$?
tail -15 "$out/ctest.log"
# The cuda_ipc backend's two-process tests (they skip without a GPU: show that they ran).
grep -hE "CudaIpcTest\.[A-Za-z]+ .*(Passed|Failed|Skipped|\*\*\*)" "$out/ctest.log" | head -10
grep -h "teacher-forced" build-gpu/Testing/Temporary/LastTest.log 2>/dev/null | head -3
for tool in memcheck racecheck; do
  # racecheck reports hazards inside cuBLAS's own GEMM kernels (nvjet, TMA/wgmma): our kernels only.
  # It tracks every shared-memory access, so the prefill attention cases of thousands of tokens
  # (minutes under it) stay out; the tile-edge, chunk, window and block-size cases cover its code.
  filter=""
  [ $tool = racecheck ] && filter="--gtest_filter=-*Matmul*:*LongPromptsWithGqa*:*RandomCachedPrefixSplits*"
  compute-sanitizer --tool $tool --error-exitcode 1 build-gpu/tests/engine/backend/cuda_backend_test $filter \
    > "$out/sanitizer-$tool.log" 2>&1 && echo "compute-sanitizer $tool: clean" || { echo "compute-sanitizer $tool: FAILED"; tail -20 "$out/sanitizer-$tool.log"; rc=1; }
done
build-gpu/cli/pdserve generate --model models/pdserve-demo --device cuda --prompt-ids 2386,263,2171 \
  --max-tokens 64 --temperature 0 2>&1 | tee "$out/generate.txt" | tail -3
exit $rc
