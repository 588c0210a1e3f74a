#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz/ (clang, libFuzzer + ASan/UBSan,
# build dir build-fuzz/) and runs each for SECONDS (default 60) over its seed
# corpus tests/fuzz/corpus/<name>/ (a target <name>_fuzz). New inputs go to a
# scratch corpus under build-fuzz/, never into the seeds. Exits non-zero when
# a target crashes; the crashing input is left in build-fuzz/crashes/.
# The mutation seed is fixed (PDSERVE_FUZZ_SEED, default 1) so that a CI run
# is repeatable; set another seed, or 0 for a random one, to explore further.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
seconds="${1:-60}"
seed="${PDSERVE_FUZZ_SEED:-1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${PDSERVE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
sanitize="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPDSERVE_CUDA=OFF \
  -DPDSERVE_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="$sanitize -fsanitize=fuzzer-no-link" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitize" >/dev/null

targets=()
for src in "$root"/tests/fuzz/*_fuzz.cpp; do
  targets+=("$(basename "$src" .cpp)")
done
cmake --build "$build" -j2 --target "${targets[@]}"

mkdir -p "$build/crashes"
status=0
for target in "${targets[@]}"; do
  name="${target%_fuzz}"
  seeds="$root/tests/fuzz/corpus/$name"
  scratch="$build/corpus/$name"
  mkdir -p "$scratch"
  echo "== $target: ${seconds}s over $seeds"
  if ! "$build/tests/fuzz/$target" -max_total_time="$seconds" -max_len=8192 -timeout=20 \
       -rss_limit_mb=4096 -seed="$seed" -print_final_stats=1 -artifact_prefix="$build/crashes/$target-" \
       "$scratch" "$seeds"; then
    echo "!! $target crashed: see $build/crashes/"
    status=1
  fi
done
exit "$status"
