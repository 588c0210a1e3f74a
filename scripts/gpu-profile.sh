#!/usr/bin/env bash
# On the GPU machine (issue 12's method): where a decode step's GPU time
# goes, kernel by kernel. Runs `pdserve bench engine --enforce-eager` at one
# decode point under ncu (kernels one at a time, clocks as they are) and
# summarises the last steps with tools/kernel_profile.py against the copy
# bandwidth that bench measured in the same run. Results in
# ${OUT:-/tmp/pdserve-gpu}: profile-SHAPE-POINT.{csv,txt,json}.
# PDSERVE_SHAPE (llama-3.2-1b), PDSERVE_POINT (1x128), PDSERVE_BIN
# (build-gpu/cli/pdserve; built when missing).
source "$(dirname "$0")/gpu-common.sh"
shape=${PDSERVE_SHAPE:-llama-3.2-1b}
point=${PDSERVE_POINT:-1x128}
bin=${PDSERVE_BIN:-build-gpu/cli/pdserve}
[ -x "$bin" ] || gpu_build pdserve
[ -f /tmp/$shape/config.json ] || python3 tools/make_random_checkpoint.py --shape $shape --out /tmp/$shape > /dev/null || exit 1
name=profile-$shape-$point
bench="$bin bench engine --model /tmp/$shape --device cuda --kv-cache-mb 4000 --decode $point --prefill-len 128 --decode-steps 12 --enforce-eager"
$bench --output-json "$out/$name-bench.json" > "$out/$name-bench.txt" 2>&1 || { tail -5 "$out/$name-bench.txt"; exit 1; }
gbps=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['copy_bytes_per_s'] / 1e9)" "$out/$name-bench.json")
ncu --csv --print-units base --clock-control none --cache-control none \
  --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \
  $bench > "$out/$name.csv" 2> "$out/$name.err" || { tail -5 "$out/$name.err"; exit 1; }
python3 tools/kernel_profile.py "$out/$name.csv" --copy-gbps "$gbps" --json "$out/$name.json" | tee "$out/$name.txt"
