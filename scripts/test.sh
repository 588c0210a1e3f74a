#!/usr/bin/env bash
# README command two: installs what is missing, builds the CPU-only
# configuration and runs every test; where nvcc exists it also builds the
# CUDA configuration and runs its tests (GPU tests skip without a GPU).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
# The OpenAI Node SDK for the end-to-end tests, pinned by package-lock.json.
(cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
scripts/build.sh build-cpu -DPDSERVE_CUDA=OFF
ctest --test-dir build-cpu --output-on-failure -j "$(nproc)"
# libFuzzer targets (tokenizer.json loading + encoding, chat templates), 60 s each.
scripts/fuzz.sh "${PDSERVE_FUZZ_SECONDS:-60}"
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH="$PATH:/usr/local/cuda/bin"
  scripts/build.sh build-cuda -DPDSERVE_CUDA=ON
  ctest --test-dir build-cuda --output-on-failure -j "$(nproc)"
fi
