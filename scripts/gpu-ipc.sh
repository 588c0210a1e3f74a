#!/usr/bin/env bash
# On the GPU machine, in one device call (issue 20): builds the CUDA
# configuration, runs the kvtransfer GPU tests (cuda_ipc between two
# processes: scattered blocks byte for byte, a receiver dying, token and
# compat refusals), checks that the cluster's greedy answers over cuda_ipc
# equal co-located ones, measures kv_transfer_bench --device cuda for every
# backend (contiguous and scattered) and runs the serving benchmark
# disaggregated over cuda_ipc against co-located (scripts/gpu-serve-bench.sh).
# Everything lands in ${OUT:-/tmp/pdserve-gpu}: ipc-*.log, kv-bench-*.{txt,json},
# serve-*. PDSERVE_IPC_SERVE=0 skips the serving benchmark.
source "$(dirname "$0")/gpu-common.sh"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
gpu_build pdserve kvtransfer_test kvtransfer_cuda_ipc_receiver kv_transfer_bench layer_pusher_test
rc=0
build-gpu/tests/kvtransfer/kvtransfer_test --gtest_filter='CudaIpc*:DeviceRegionTest.*:BackendChoiceTest.*' \
  > "$out/ipc-tests.log" 2>&1 || rc=1
build-gpu/tests/prefill_worker/layer_pusher_test >> "$out/ipc-tests.log" 2>&1 || rc=1
tail -5 "$out/ipc-tests.log"

# Greedy answers: disaggregated over the default backend (auto: cuda_ipc)
# against co-located, on the demo model.
answer() {  # answer MODE PORT: the greedy completion of a fixed prompt
  local log="$out/ipc-serve-$1.log"
  build-gpu/cli/pdserve serve --model models/pdserve-demo --device cuda --port "$2" \
    --router-arg=--prefill-mode="$1" > "$log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 120); do grep -q "pdserve is ready" "$log" && break; sleep 1; done
  curl -s "http://127.0.0.1:$2/v1/completions" -H 'Content-Type: application/json' \
    -d '{"model":"pdserve-demo","prompt":"In the beginning God created","max_tokens":48,"temperature":0}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["text"])'
  grep -o "kv backend [a-z_]*" "$log" | sort | uniq -c | sed "s/^/$1: /" >&2
  kill -TERM $pid; wait $pid
}
remote=$(answer remote 18701)
local_=$(answer local 18702)
if [ -n "$remote" ] && [ "$remote" = "$local_" ]; then
  echo "greedy over cuda_ipc = co-located: ok" | tee "$out/ipc-greedy.txt"
else
  printf 'greedy differs:\nremote: %s\nlocal:  %s\n' "$remote" "$local_" | tee "$out/ipc-greedy.txt"
  rc=1
fi

# One transfer at a time (latency), then 16 in flight (a layer-wise push
# posts one transfer per layer without waiting).
for inflight in 1 16; do
  for layout in contiguous scattered; do
    flag=""
    [ $layout = scattered ] && flag=--scattered
    build-gpu/tools/kv_transfer_bench/kv_transfer_bench --device=cuda --backends=cuda_ipc,ucx_shm,tcp \
      --seconds=0.1 --inflight=$inflight $flag --json="$out/kv-bench-$layout-inflight$inflight.json" 2>&1 |
      tee "$out/kv-bench-$layout-inflight$inflight.txt"
  done
done

if [ "${PDSERVE_IPC_SERVE:-1}" = 1 ]; then
  PDSERVE_SHAPES="${PDSERVE_SHAPES:-llama-3.2-1b llama-3.1-8b}" PDSERVE_RATES="${PDSERVE_RATES:-2,8,inf}" \
    PDSERVE_NUM_PROMPTS="${PDSERVE_NUM_PROMPTS:-32}" scripts/gpu-serve-bench.sh || rc=1
fi
exit $rc
