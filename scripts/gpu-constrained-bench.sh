#!/usr/bin/env bash
# On the GPU machine: the throughput cost of constrained decoding (issue 17,
# docs/PERFORMANCE.md "Constrained decoding"). `pdserve bench engine --device
# cuda` at decode batch 1 and 32 (context 128; batch 32 twice: the second
# pass meets the grammar contexts the first classified, the steady state of a
# schema in use), every sequence under a JSON
# schema (--json-schema) or free, the two alternating, at the demo model (4096
# tokens) and at a random-weight Llama-3.2-1B shape whose tokenizer is the
# demo's grown to 128256 tokens (tools/grow_tokenizer.py). Results in
# ${OUT:-/tmp/pdserve-gpu}/constrained.tar.gz (one JSON and one text per run)
# and a summary (median ms per step, free and constrained) on stdout.
# Three rounds at the demo model, two at the 1B shape; runs that would start
# past PDSERVE_BUDGET_S (default 110) seconds are skipped. First, the tests
# of the constrained path on the GPU (the masked argmax kernel and the
# pinned, asynchronous mask upload: cuda_backend_test; greedy constrained
# rows through the argmax equal to the sampler's picks, with graphs:
# constrained_decoding_test) and the mask work of one batch-32 step at the
# 128k vocabulary on this machine's cores (tools/mask_step_bench).
#   scripts/gpu-constrained-bench.sh
source "$(dirname "$0")/gpu-common.sh"
gpu_build pdserve cuda_backend_test constrained_decoding_test mask_step_bench
rc=0
build-gpu/tests/engine/backend/cuda_backend_test --gtest_filter='*Argmax*' > "$out/argmax-test.log" 2>&1 &&
  echo "cuda_backend_test *Argmax*: passed" || { echo "cuda_backend_test *Argmax*: FAILED"; tail -30 "$out/argmax-test.log"; rc=1; }
build-gpu/tests/engine/runner/constrained_decoding_test > "$out/constrained-test.log" 2>&1 &&
  echo "constrained_decoding_test: passed" || { echo "constrained_decoding_test: FAILED"; tail -30 "$out/constrained-test.log"; rc=1; }
grep -h "SKIPPED\|OK \] .*MaskedArgmax" "$out/constrained-test.log" | head -3
t0=$(date +%s)
ckpt=/tmp/llama-3.2-1b
[ -f $ckpt/config.json ] || python3 tools/make_random_checkpoint.py --shape llama-3.2-1b --out $ckpt > "$out/make.log" 2>&1 ||
  { tail -5 "$out/make.log"; exit 1; }
python3 tools/grow_tokenizer.py models/pdserve-demo/tokenizer.json 128256 $ckpt/tokenizer.json > "$out/grow.log" 2>&1 ||
  { tail -5 "$out/grow.log"; exit 1; }
# The schema of PERFORMANCE.md's CPU figures: at least 64 objects, never complete within the steps.
cat > "$out/people.json" <<'JSON'
{"type": "array", "minItems": 64, "items": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}, "age": {"type": "integer", "minimum": 0, "maximum": 150}, "tags": {"type": "array", "items": {"enum": ["a", "b", "c"]}, "maxItems": 3}}, "required": ["name", "age", "tags"]}}
JSON
build-gpu/tools/mask_step_bench $ckpt "$out/people.json" 32 64 | tee "$out/mask-step.txt"
run() {  # run MODEL NAME ROUND MODE; skipped past the time budget (the device call's limit)
  [ $(( $(date +%s) - t0 )) -gt "${PDSERVE_BUDGET_S:-110}" ] && { echo "skipped (time budget): $2 $4 $3"; return; }
  local extra=""
  [ "$4" = schema ] && extra="--json-schema $out/people.json"
  build-gpu/cli/pdserve bench engine --model "$1" --device cuda --kv-cache-mb 4096 --decode 1x128 32x128 32x128 --decode-steps 256 \
    --prefill-len 16 $extra --output-json "$out/constrained_$2_$4_$3.json" > "$out/constrained_$2_$4_$3.txt" 2>&1 ||
    { echo "FAILED: $1 $4"; tail -5 "$out/constrained_$2_$4_$3.txt"; }
}
# Rounds interleaved, so that a run cut by the budget still leaves both models measured.
for r in 1 2 3; do
  for m in free schema; do run models/pdserve-demo demo $r $m; done
  [ $r -le 2 ] && for m in free schema; do run $ckpt llama-3.2-1b $r $m; done
done
echo "elapsed after build: $(( $(date +%s) - t0 )) s"
grep -h "^device:" "$out"/constrained_*.txt | sort | uniq -c
grep -h "structured outputs off" "$out"/constrained_*.txt | sort | uniq -c
grep -h "grammar contexts classified" "$out"/constrained_*.txt | sort | uniq -c
python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "constrained_*.json"))):
    _, model, mode, rnd = os.path.basename(f)[:-5].split("_")
    seen = {}
    for fig in json.load(open(f))["figures"]:
        if fig["name"].startswith("decode"):
            # The batch-32 point runs twice: the second pass meets the schema's contexts classified.
            seen[fig["name"]] = seen.get(fig["name"], 0) + 1
            name = fig["name"] + (" (second pass)" if seen[fig["name"]] > 1 else "")
            rows.setdefault((model, name), {}).setdefault(mode, []).append(fig["seconds"] * 1e3)
print("model / point: free ms/step (runs) | schema ms/step (runs) | median cost")
for (model, name), d in sorted(rows.items()):
    med = statistics.median
    free, schema = d.get("free", []), d.get("schema", [])
    cost = 100 * (med(schema) / med(free) - 1) if free and schema else float("nan")
    print(f"{model} {name}: {' '.join(f'{v:.3f}' for v in free)} | {' '.join(f'{v:.3f}' for v in schema)} | {cost:+.1f}%")
PY
tar -czf "$out/constrained.tar.gz" -C "$out" $(cd "$out" && ls constrained_*.json constrained_*.txt people.json mask-step.txt)
rm -f "$out"/constrained_*.json "$out"/constrained_*.txt
exit $rc
