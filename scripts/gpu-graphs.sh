#!/usr/bin/env bash
# On the GPU machine, one call for issue 12's CUDA graphs and fused kernels:
# builds what it needs, runs the CUDA op and graph tests (memcheck on the
# graph runner test), the fidelity test, greedy decoding with graphs against
# --enforce-eager (256 tokens), then scripts/gpu-bench.sh (both shapes, eager
# and with graphs, floors and the PyTorch peer of the same run). Results in
# ${OUT:-/tmp/pdserve-gpu}; exits non-zero when a check failed.
source "$(dirname "$0")/gpu-common.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
gpu_build pdserve cuda_backend_test cuda_graph_runner_test cuda_fidelity_test decode_graphs_test
rc=0
for t in engine/backend/cuda_backend_test engine/runner/cuda_graph_runner_test \
  engine/runner/cuda_fidelity_test engine/runner/decode_graphs_test; do
  name=$(basename $t)
  build-gpu/tests/$t > "$out/$name.log" 2>&1 && echo "$name: $(grep -c '^\[       OK' "$out/$name.log") passed" ||
    { echo "$name: FAILED"; grep -E '^\[  FAILED|Failure|error' -A4 "$out/$name.log" | head -40; rc=1; }
done
compute-sanitizer --tool memcheck --error-exitcode 1 build-gpu/tests/engine/runner/cuda_graph_runner_test \
  > "$out/sanitizer-graphs.log" 2>&1 && echo "compute-sanitizer memcheck (graphs): clean" ||
  { echo "compute-sanitizer memcheck (graphs): FAILED"; tail -20 "$out/sanitizer-graphs.log"; rc=1; }
for mode in graphs eager; do
  extra=""
  [ $mode = eager ] && extra="--enforce-eager"
  build-gpu/cli/pdserve generate --model models/pdserve-demo --device cuda --prompt-ids 2386,263,2171 \
    --max-tokens 256 --ignore-eos --temperature 0 $extra > "$out/generate-$mode.txt" 2> "$out/generate-$mode.err"
done
cmp -s "$out/generate-graphs.txt" "$out/generate-eager.txt" &&
  echo "greedy 256 tokens, graphs = eager: yes" || { echo "greedy 256 tokens, graphs = eager: NO"; rc=1; }
grep -i "graphs off" "$out/generate-graphs.err" && rc=1
PDSERVE_REBUILD=0 bash scripts/gpu-bench.sh || rc=1
exit $rc
