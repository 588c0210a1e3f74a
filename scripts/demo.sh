#!/usr/bin/env bash
# README command one: installs what is missing, builds, and serves the demo
# model in models/ with `pdserve serve` (router + prefill worker + decode
# worker) on http://127.0.0.1:${PDSERVE_PORT:-8000} until Ctrl-C. Where nvcc
# exists the CUDA build is used (the GPU when there is one, else the CPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
  dir=build-cuda
  scripts/build.sh "$dir" -DPDSERVE_CUDA=ON
else
  dir=build-cpu
  scripts/build.sh "$dir" -DPDSERVE_CUDA=OFF
fi
exec "$dir/cli/pdserve" serve --model models/pdserve-demo --port "${PDSERVE_PORT:-8000}" "$@"
