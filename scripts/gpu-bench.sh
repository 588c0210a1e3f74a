#!/usr/bin/env bash
# On the GPU machine: builds, makes random-weight checkpoints at the
# Llama-3.2-1B and Llama-3.1-8B shapes, and runs `pdserve bench engine` on
# each. Results in ${OUT:-/tmp/pdserve-gpu}/bench-*.{txt,json}.
source "$(dirname "$0")/gpu-common.sh"
if [ ! -x build-gpu/cli/pdserve ] || [ "${PDSERVE_REBUILD:-1}" = 1 ]; then gpu_build pdserve; fi
for shape in ${PDSERVE_SHAPES:-llama-3.2-1b llama-3.1-8b}; do
  [ -f /tmp/$shape/config.json ] || python3 tools/make_random_checkpoint.py --shape $shape --out /tmp/$shape || exit 1
  echo "== $shape: pdserve bench engine --model /tmp/$shape --device cuda --kv-cache-mb 20000"
  build-gpu/cli/pdserve bench engine --model /tmp/$shape --device cuda --kv-cache-mb 20000 \
    --output-json "$out/bench-$shape.json" 2>&1 | tee "$out/bench-$shape.txt"
done
