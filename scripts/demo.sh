#!/usr/bin/env bash
# README command one: installs what is missing, builds, and runs the main job
# on the demo model in models/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh
scripts/build.sh build-cpu -DPDSERVE_CUDA=OFF
exec build-cpu/tools/pdserve/pdserve generate --model models/pdserve-demo \
  --prompt-ids "${PDSERVE_DEMO_PROMPT_IDS:-2386,263,2171}" --max-tokens 64 --temperature 0 "$@"
