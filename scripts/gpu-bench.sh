#!/usr/bin/env bash
# On the GPU machine: builds, makes random-weight checkpoints at the
# Llama-3.2-1B and Llama-3.1-8B shapes, and runs `pdserve bench engine` on
# each twice, with CUDA graphs (the default) and with --enforce-eager, each
# run measuring its own floors; then the naive PyTorch peer
# (tools/torch_decode_baseline.py) at the same decode points, and joins the
# runs into graphs-vs-eager.json. Results in ${OUT:-/tmp/pdserve-gpu}:
# bench-SHAPE-{graphs,eager}.{txt,json}, torch-SHAPE.json, graphs-vs-eager.json.
# PDSERVE_BENCH_FLAGS adds flags to every pdserve run.
source "$(dirname "$0")/gpu-common.sh"
if [ ! -x build-gpu/cli/pdserve ] || [ "${PDSERVE_REBUILD:-1}" = 1 ]; then gpu_build pdserve; fi
declare -A points=([llama-3.2-1b]="1x128 1x1024 8x1024 64x1024" [llama-3.1-8b]="1x128 1x1024 8x1024 64x1024 256x512")
for shape in ${PDSERVE_SHAPES:-llama-3.2-1b llama-3.1-8b}; do
  [ -f /tmp/$shape/config.json ] || python3 tools/make_random_checkpoint.py --shape $shape --out /tmp/$shape > /dev/null || exit 1
  for mode in graphs eager; do
    extra=""
    [ $mode = eager ] && extra="--enforce-eager"
    cmd="build-gpu/cli/pdserve bench engine --model /tmp/$shape --device cuda --kv-cache-mb 24000 \
--decode ${points[$shape]} $extra ${PDSERVE_BENCH_FLAGS:-}"
    echo "== $shape ($mode): $cmd"
    $cmd --output-json "$out/bench-$shape-$mode.json" 2>&1 | grep -v 'loading weights' | tee "$out/bench-$shape-$mode.txt"
  done
  [ "${PDSERVE_TORCH:-1}" = 1 ] &&
    python3 tools/torch_decode_baseline.py --shape $shape --decode ${points[$shape]} --out "$out/torch-$shape.json"
done
python3 tools/join_graph_bench.py "$out" | tee "$out/graphs-vs-eager.txt"
