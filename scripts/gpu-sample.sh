#!/usr/bin/env bash
# On the GPU machine: sampling on the GPU (issue 12). Builds the sampling
# targets (the 1B checkpoint is made meanwhile unless it exists or is being
# made), runs the sampling tests (the CUDA op against the CPU, the host
# semantics, the runner on the demo model), compute-sanitizer memcheck on the
# op tests, the sampling micro-benchmark, then `pdserve bench engine` at the
# Llama-3.2-1B shape, greedy and with every sampling parameter on (sampled on
# the GPU). Results in ${OUT:-/tmp/pdserve-gpu}: run.log (everything printed),
# sample-rows.json, bench-1b-{greedy,sampling}.json.
source "$(dirname "$0")/gpu-common.sh"
exec > >(tee -a "$out/run.log") 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
ckpt=/tmp/llama-3.2-1b
maker=""  # ours; CHECKPOINT_MAKER_PID: one the caller started (its log: /tmp/checkpoint.log)
if [ -z "${CHECKPOINT_MAKER_PID:-}" ] && [ ! -f $ckpt/config.json ]; then
  python3 tools/make_random_checkpoint.py --shape llama-3.2-1b --out $ckpt > /tmp/checkpoint.log 2>&1 &
  maker=$!
fi
gpu_build cuda_backend_test sampler_test cuda_sampling_runner_test sample_rows_bench pdserve
rc=0
for t in tests/engine/backend/cuda_backend_test tests/engine/runner/sampler_test \
  tests/engine/runner/cuda_sampling_runner_test; do
  filter=""
  [[ $t == *cuda_backend_test ]] && filter="--gtest_filter=CudaSampleRows*:*Argmax*"
  build-gpu/$t $filter 2>&1 | grep -E "^\[ +(OK|FAILED|PASSED|SKIPPED) |Failure|error|Expected|Which is|actual" | head -60
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
done
# memcheck: the op tests but the statistical ones (thousands of rows: minutes under it).
compute-sanitizer --tool memcheck --error-exitcode 1 build-gpu/tests/engine/backend/cuda_backend_test \
  "--gtest_filter=CudaSampleRowsTest.*:-*Frequencies*:*Filtered*:*Straddling*:*TiesAtTheCut*:*LargerThanTheAllowed*" \
  > /tmp/memcheck.log 2>&1 &&
  echo "compute-sanitizer memcheck: clean" || { echo "compute-sanitizer memcheck: FAILED"; tail -30 /tmp/memcheck.log; rc=1; }
build-gpu/tools/sample_rows_bench/sample_rows_bench --json "$out/sample-rows.json"
[ -n "$maker" ] && wait $maker
while [ -n "${CHECKPOINT_MAKER_PID:-}" ] && kill -0 "$CHECKPOINT_MAKER_PID" 2> /dev/null; do sleep 1; done
[ -f $ckpt/config.json ] || { tail -5 /tmp/checkpoint.log; exit 1; }
all="--temperature 0.8 --top-k 50 --top-p 0.9 --min-p 0.05 --repetition-penalty 1.1 \
--presence-penalty 0.1 --frequency-penalty 0.1 --logprobs 5"
# greedy (argmax on the GPU), then every parameter sampled on the GPU.
for mode in greedy sampling; do
  extra=""
  [ $mode = sampling ] && extra=$all
  cmd="build-gpu/cli/pdserve bench engine --model $ckpt --device cuda --kv-cache-mb 24000 \
--decode 1x128 8x1024 64x1024 $extra"
  echo "== llama-3.2-1b ($mode): $cmd"
  $cmd --output-json "$out/bench-1b-$mode.json" 2>&1 | grep -v 'loading weights'
done
exit $rc
