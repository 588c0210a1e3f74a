#!/usr/bin/env bash
# The router's overhead (docs/PERFORMANCE.md): the same load sent straight to
# a decode worker's internal endpoint and through the router of the same
# `pdserve serve` cluster (decode prefills locally, so both paths do the same
# engine work), reporting the added latency (p50, p99) and the router's CPU
# time per request (from /proc). Run from the project root after a build:
#   scripts/router-overhead.sh [build-dir] [extra `pdserve bench serve` flags]
set -euo pipefail
bin=${1:-build-cpu}/cli/pdserve
shift || true
out=$(mktemp -d)
export PDSERVE_CLUSTER_TOKEN=overhead-$RANDOM$RANDOM
# No prefix caching: the second run must not find the first run's prompts cached.
"$bin" serve --model models/pdserve-demo --port 0 --router-arg=--prefill-mode=local \
  --worker-arg=--no-prefix-caching > "$out/serve.log" 2>&1 &
serve=$!
trap 'kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 1 120); do grep -q "pdserve is ready" "$out/serve.log" && break; sleep 1; done
router_url=$(grep -o "pdserve is ready at http://[0-9.:]*" "$out/serve.log" | grep -o "http://.*")
decode_url=$(grep -o "\[decode-0\] .* on http://[0-9.:]*" "$out/serve.log" | grep -o "http://[0-9.:]*$")
router_pid=$(grep -o "started router (pid [0-9]*" "$out/serve.log" | grep -o "[0-9]*$")
load=(--model pdserve-demo --tokenizer models/pdserve-demo --dataset random --input-len 128
      --output-len 32 --num-prompts 64 --max-concurrency 4 --num-warmups 4 "$@")
# CPU time of every router thread, in ns (schedstat's first field).
cpu() { cat /proc/"$router_pid"/task/*/schedstat | awk '{s += $1} END {printf "%d", s}'; }
"$bin" bench serve --base-url "$decode_url" --endpoint /internal/v1/generate \
  --api-key "$PDSERVE_CLUSTER_TOKEN" "${load[@]}" --output-json "$out/direct.json" > /dev/null
before=$(cpu)
"$bin" bench serve --base-url "$router_url" --endpoint /v1/completions "${load[@]}" \
  --output-json "$out/router.json" > /dev/null
after=$(cpu)
python3 - "$out" "$before" "$after" <<'PY'
import json, sys
out, before, after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = {n: json.load(open(f"{out}/{n}.json")) for n in ("direct", "router")}
d, r = runs["direct"]["metrics"], runs["router"]["metrics"]
print("| metric | straight to the decode worker | through the router | added |")
print("| --- | ---: | ---: | ---: |")
for name in ("ttft", "e2e"):
    for q in ("median", "p99"):
        a, b = d[name][q + "_ms"], r[name][q + "_ms"]
        print(f"| {name.upper()} {q} (ms) | {a:.2f} | {b:.2f} | {b - a:+.2f} |")
n = r["completed"] + runs["router"]["config"]["num_warmups"]  # the warm-ups crossed the router too
print(f"\nrouter CPU: {(after - before) / 1e6 / max(n, 1):.3f} ms per request "
      f"({(after - before) / 1e6:.1f} ms over {n} requests, every thread)")
print(f"failed: direct {d['failed']}, router {r['failed']}")
PY
