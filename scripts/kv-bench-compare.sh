#!/usr/bin/env bash
# Before/after of a kvtransfer change on this machine's CPU backends:
#   scripts/kv-bench-compare.sh BEFORE_BENCH AFTER_BENCH [REPS] [BACKENDS]
# runs kv_transfer_bench (two builds of tools/kv_transfer_bench) alternately,
# REPS times (default 5), at a small point (16 KB x 1: the fixed cost) and a
# large one (1 MB x 16), one or 16 writes per epoch (--layers) and one or 16
# in flight, and prints the median GB/s and p50 of each (which, point).
set -euo pipefail
before=$1 after=$2 reps=${3:-5} backends=${4:-tcp}
runs=$(mktemp)
for _ in $(seq "$reps"); do
  for point in "16 1" "1024 16"; do
    set -- $point
    for layers in 1 16; do
      for inflight in 1 16; do
        for which in before after; do
          bin=$before; [ $which = after ] && bin=$after
          "$bin" --backends="$backends" --block-kb="$1" --count="$2" --layers=$layers \
            --inflight=$inflight --seconds=0.5 2>&1 | grep -E '^(tcp|ucx)' |
            sed "s/^/$which $layers $inflight /"
        done
      done
    done
  done
done > "$runs"
python3 - "$runs" <<'PY'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    which, layers, inflight, backend, block, count, gbps, p50 = line.split()[:8]
    runs[(backend, block, count, int(layers), int(inflight), which)].append((float(gbps), float(p50)))
print("backend block count layers inflight which  GB/s  p50_us  (medians of %d)" % len(next(iter(runs.values()))))
for key in sorted(runs):
    v = runs[key]
    print(*key, "%.2f" % statistics.median(x[0] for x in v), "%.1f" % statistics.median(x[1] for x in v))
PY
rm -f "$runs"
