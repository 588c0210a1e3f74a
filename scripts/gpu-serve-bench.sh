#!/usr/bin/env bash
# On the GPU machine: the serving figures of docs/PERFORMANCE.md. For each
# random-weight checkpoint at a real shape, `pdserve serve` on one GPU (the
# prefill worker and the decode worker are two processes sharing it), once
# co-located (--prefill-mode local: the decode worker prefills) and once
# disaggregated (--prefill-mode remote: every prompt's KV crosses kvtransfer,
# over `pdserve serve`'s default --kv-backend auto, i.e. cuda_ipc), each
# measured with `pdserve bench serve` at several request rates. The two
# workers split the GPU (serve's --gpu-memory-utilization, 0.45 each).
# Results in ${OUT:-/tmp/pdserve-gpu}/serve-*.
#   PDSERVE_SHAPES="llama-3.2-1b llama-3.1-8b" PDSERVE_RATES=2,8,inf scripts/gpu-serve-bench.sh
# The prefix cache is off (the same prompts serve every rate of a sweep: with
# it on, the later rates would find them cached); PDSERVE_SERVE_ARGS replaces
# that default. Four unmeasured warm-up requests first: the first remote
# prefill opens the decode worker's KV pool over cuda_ipc, which an H100 run
# without them showed as ~250 ms added to every TTFT of a 32-prompt run.
source "$(dirname "$0")/gpu-common.sh"
bin=build-gpu/cli/pdserve
[ -x "$bin" ] || gpu_build pdserve
port=18600
for shape in ${PDSERVE_SHAPES:-llama-3.2-1b}; do
  dir=/tmp/$shape
  [ -f "$dir/config.json" ] || python3 tools/make_random_checkpoint.py --shape "$shape" --out "$dir" > "$out/make-$shape.log" 2>&1 || exit 1
  # The router needs a tokenizer: the demo's. Random weights sample ids past
  # its vocabulary, which are counted (usage) but not printed.
  cp models/pdserve-demo/tokenizer.json models/pdserve-demo/tokenizer_config.json "$dir/"
  for mode in local remote; do
    port=$((port + 1))
    log="$out/serve-$shape-$mode.log"
    "$bin" serve --model "$dir" --device cuda --port "$port" --router-arg=--prefill-mode=$mode \
      ${PDSERVE_SERVE_ARGS:---worker-arg=--no-prefix-caching} > "$log" 2>&1 &
    serve=$!
    for _ in $(seq 1 300); do grep -q "pdserve is ready" "$log" && break; sleep 1; done
    grep -q "pdserve is ready" "$log" || { echo "serve $shape $mode did not start"; tail -20 "$log"; kill $serve; continue; }
    echo "== $shape, prefill $mode: pdserve bench serve --input-len ${PDSERVE_INPUT_LEN:-1024} --output-len ${PDSERVE_OUTPUT_LEN:-128} --num-prompts ${PDSERVE_NUM_PROMPTS:-64} --request-rates ${PDSERVE_RATES:-2,8,inf}"
    "$bin" bench serve --base-url "http://127.0.0.1:$port" --model "$shape" --tokenizer "$dir" --dataset random \
      --input-len "${PDSERVE_INPUT_LEN:-1024}" --output-len "${PDSERVE_OUTPUT_LEN:-128}" \
      --num-prompts "${PDSERVE_NUM_PROMPTS:-64}" --request-rates "${PDSERVE_RATES:-2,8,inf}" \
      --num-warmups 4 --slo ttft=200ms,tpot=25ms --output-json "$out/serve-$shape-$mode.json" 2>&1 | tee "$out/serve-$shape-$mode.txt"
    grep -o "kv backend [a-z_]*" "$log" | sort | uniq -c | tee "$out/serve-$shape-$mode-backend.txt"
    # Where the prefill happened and how many KV bytes moved: the workers' metrics.
    for role in prefill decode; do
      url=$(grep -o "\[$role-0\] .* on http://[0-9.:]*" "$log" | grep -o "http://[0-9.:]*")
      [ -n "$url" ] && curl -s "$url/metrics" | grep -E "^pdserve:(kv_|decode_prefills|prefill_requests|remote_prefill_seconds_(sum|count))" | sed "s/^/$role: /"
    done | tee "$out/serve-$shape-$mode-workers.txt"
    kill -TERM $serve; wait $serve
  done
done
