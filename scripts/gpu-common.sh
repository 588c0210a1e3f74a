# Sourced by the scripts/gpu-*.sh scripts on the GPU machine: the project root
# as working directory, $out for results (${OUT:-/tmp/pdserve-gpu}), the
# carried dependencies (.deps), NVLink multicast off, and gpu_build.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
out=${OUT:-/tmp/pdserve-gpu}
mkdir -p "$out"
[ -d .deps ] && source scripts/device-env.sh
export NCCL_NVLS_ENABLE=0

# gpu_build [TARGET...]: configures and builds build-gpu (everything when no
# target is named); on failure prints the errors and exits.
gpu_build() {
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPDSERVE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90a \
    > "$out/configure.log" 2>&1 || { tail -30 "$out/configure.log"; exit 1; }
  local targets=()
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake --build build-gpu -j16 "${targets[@]}" > "$out/build.log" 2>&1 ||
    { grep -E 'error' -A5 "$out/build.log" | head -60; exit 1; }
}
