#!/usr/bin/env bash
# On the GPU machine: builds, makes random-weight checkpoints at the
# Llama-3.2-1B and Llama-3.1-8B shapes, and runs `pdserve bench engine` on
# each. Results in ${OUT:-/tmp/pdserve-gpu}/bench-*.{txt,json}.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-/tmp/pdserve-gpu}
mkdir -p "$out"
[ -d .deps ] && source scripts/device-env.sh
if [ ! -x build-gpu/tools/pdserve/pdserve ] || [ "${PDSERVE_REBUILD:-1}" = 1 ]; then
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPDSERVE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  cmake --build build-gpu -j16 --target pdserve > "$out/build.log" 2>&1 || { grep -E 'error' -A5 "$out/build.log" | head -40; exit 1; }
fi
for shape in ${PDSERVE_SHAPES:-llama-3.2-1b llama-3.1-8b}; do
  [ -f /tmp/$shape/config.json ] || python3 tools/make_random_checkpoint.py --shape $shape --out /tmp/$shape || exit 1
  echo "== $shape: pdserve bench engine --model /tmp/$shape --device cuda --kv-cache-mb 20000"
  build-gpu/tools/pdserve/pdserve bench engine --model /tmp/$shape --device cuda --kv-cache-mb 20000 \
    --output-json "$out/bench-$shape.json" 2>&1 | tee "$out/bench-$shape.txt"
done
