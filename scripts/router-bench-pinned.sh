#!/usr/bin/env bash
# `pdserve bench router` as docs/PERFORMANCE.md's router passes measure it on
# a shared 2-core machine (as root): the router on CPU 0 with one io thread
# each way, the benchmark on CPU 1, each in a session of its own at autogroup
# nice -10 (so that neither the other's load nor other sessions' builds
# decide its share of its core). QUOTA_US=N caps the router at N µs of CPU
# per 100 ms (a cgroup v1 `cpu` group of its own) so that it, not the
# benchmark, is the bottleneck: the "at saturation" figures. Run from the
# project root after a build:
#   [QUOTA_US=25000] scripts/router-bench-pinned.sh BUILD_DIR OUT.json [bench router flags]
# e.g. scripts/router-bench-pinned.sh build-cpu out.json --idle-connections 0 --streams 1000 \
#        --duration 8 --scenario completions/stream/plain
set -euo pipefail
bin=$1/cli/pdserve
out_json=$2
shift 2
token=bench-$RANDOM$RANDOM
log=$(mktemp)
cgroup=/sys/fs/cgroup/cpu/pdserve-router-bench-$$
setsid taskset -c 0 nice -n -10 "$bin" router --model models/pdserve-demo --port 0 \
  --cluster-token "$token" --threads 1 --stream-silence-timeout 60 --max-connections 6000 \
  > "$log" 2>&1 &
router=$!
cleanup() {
  kill "$router" 2>/dev/null || true
  wait "$router" 2>/dev/null || true
  [ -d "$cgroup" ] && rmdir "$cgroup" 2>/dev/null
  rm -f "$log"
}
trap cleanup EXIT
echo -10 > /proc/"$router"/autogroup
port=
for _ in $(seq 1 100); do
  port=$(ss -ltnpH 2>/dev/null | awk -v pid="pid=$router," 'index($0, pid) {
    sub(/.*:/, "", $4); print $4; exit }')
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "the router did not listen:"; cat "$log"; exit 1; } >&2
if [ -n "${QUOTA_US:-}" ]; then
  mkdir "$cgroup"
  echo 100000 > "$cgroup/cpu.cfs_period_us"
  echo "$QUOTA_US" > "$cgroup/cpu.cfs_quota_us"
  for task in /proc/"$router"/task/*; do echo "${task##*/}" > "$cgroup/tasks"; done
fi
ulimit -n 20000
setsid taskset -c 1 nice -n -10 "$bin" bench router --model models/pdserve-demo \
  --router-url "http://127.0.0.1:$port" --router-pid "$router" --cluster-token "$token" \
  --output-json "$out_json" "$@" &
bench=$!
echo -10 > /proc/"$bench"/autogroup
wait "$bench"
if [ -n "${QUOTA_US:-}" ]; then
  echo "router throttled: $(tr '\n' ' ' < "$cgroup/cpu.stat")"
fi
