#!/usr/bin/env bash
# On the GPU machine, issue 14 (speculative decoding on the GPU), ~300 s:
#  1. cuda_spec_test: greedy with n-gram and draft-model speculation on CUDA
#     (target and draft replaying CUDA graphs) is the target's greedy choice.
#  2. generate on CUDA, the CPU section's commands: plain / draft / n-gram
#     outputs compared with cmp, tokens/s (3 runs, alternating), acceptance.
#  3. bench offline, demo pair, batch 32 (one scripture prompt for all):
#     off / draft / n-gram; batch 64 saturation (random prompts, the default
#     cut of 32: every step on the target's own path), off / draft / n-gram
#     alternating, 3 rounds: medians, ratio to off (target >= 0.97) and the
#     steps that replayed CUDA graphs.
#  4. bench engine at the 8B shape: verification of k = 0, 1, 2, 4, 8
#     proposals against the decode step, batch 1 and 16 at context 1024.
# Everything in ${OUT:-/tmp/pdserve-gpu}/spec-gpu.tar.gz; the summary last.
source "$(dirname "$0")/gpu-common.sh"
python3 tools/make_random_checkpoint.py --shape llama-3.1-8b --out /tmp/llama-3.1-8b > /tmp/ckpt.log 2>&1 &
gpu_build pdserve cuda_spec_test
T0=$(date +%s)
el() { echo $(($(date +%s) - T0)); }
r=/tmp/spec-res
mkdir -p $r
mv "$out"/*.log $r/ 2>/dev/null
P=build-gpu/cli/pdserve
M=models/pdserve-demo
D=models/pdserve-demo-draft
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $r/gpu.txt

build-gpu/tests/engine/spec/cuda_spec_test > $r/cuda_spec_test.log 2>&1
echo "cuda_spec_test rc=$? at $(el)s" | tee $r/summary.txt
grep -E '^\[  (FAILED|     OK) |identical to plain|Failure' $r/cuda_spec_test.log | head -12 | tee -a $r/summary.txt

G="$P generate --model $M --device cuda --max-num-seqs 1 --max-tokens 256 --temperature 0 --ignore-eos"
C="Recite Genesis 1:1-10."
DRAFT='{"method":"draft_model","model":"'$D'","num_speculative_tokens":4}'
NGRAM='{"method":"ngram","num_speculative_tokens":4,"prompt_lookup_max":4,"prompt_lookup_min":2}'
$G --chat "$C" > $r/plain.txt 2> /dev/null
Q="$(cat $r/plain.txt)"$'\n\n'"$C"
for i in 1 2 3; do
  $G --chat "$C" > $r/g-plain-$i.txt 2> $r/g-plain-$i.err
  $G --chat "$C" --speculative-config "$DRAFT" > $r/g-draft-$i.txt 2> $r/g-draft-$i.err
  $G --chat "$Q" > $r/g-qplain-$i.txt 2> $r/g-qplain-$i.err
  $G --chat "$Q" --speculative-config "$NGRAM" > $r/g-ngram-$i.txt 2> $r/g-ngram-$i.err
done
{
  echo "== generate, batch 1, 256 tokens (at $(el)s)"
  cmp -s $r/g-plain-1.txt $r/g-draft-1.txt && echo "draft output = plain: yes" || echo "draft output = plain: NO"
  cmp -s $r/g-qplain-1.txt $r/g-ngram-1.txt && echo "ngram output = plain: yes" || echo "ngram output = plain: NO"
  for k in plain draft qplain ngram; do
    echo "$k tokens/s: $(grep -ho '[0-9.]* tokens/s' $r/g-$k-*.err | tr '\n' ' ')"
  done
  grep -h "speculative decoding:" $r/g-draft-1.err $r/g-ngram-1.err | cut -c1-150
  grep -h "CUDA graphs of decode steps" $r/g-draft-1.err | cut -c1-110
} | tee -a $r/summary.txt

IDS=0,1017,290,263
B="$P bench offline --model $M --device cuda"
# b32: speculation on at batch 32 (the cut raised to 64); b64: the default cut (32).
declare -A CFG=([off]="" [draft]="$DRAFT" [ngram]="$NGRAM")
wide() { [ -n "$1" ] && echo "${1%\}},\"disable_by_batch_size\":64}"; }
for i in 1 2; do
  for m in off draft ngram; do
    c=${CFG[$m]}
    $B --num-prompts 32 --max-num-seqs 32 --prompt-ids $IDS --output-len 256 \
      ${c:+--speculative-config "$(wide "$c")"} --output-json $r/b32-$m-$i.json > $r/b32-$m-$i.txt 2>&1
  done
done
for i in 1 2 3; do
  for m in off draft ngram; do
    c=${CFG[$m]}
    $B --num-prompts 64 --max-num-seqs 64 --input-len 128 --output-len 64 \
      ${c:+--speculative-config "$c"} --output-json $r/b64-$m-$i.json > $r/b64-$m-$i.txt 2>&1
  done
done
{
  echo "== bench offline (at $(el)s): output tokens/s per run; acceptance"
  for b in b32 b64; do
    for m in off draft ngram; do
      echo "$b $m: $(grep -h 'output tokens/s' $r/$b-$m-*.txt | awk '{print $3}' | tr '\n' ' ')" \
        "$(grep -h 'speculative decoding:' $r/$b-$m-1.txt | grep -o 'acceptance rate [0-9.]*%' | head -1)" \
        "$(grep -h 'speculative decoding:' $r/$b-$m-1.txt | grep -o '[0-9]* drafts' | head -1)" \
        "$(grep -h 'CUDA graph steps' $r/$b-$m-1.txt)"
    done
  done
  echo "== saturation, batch 64 (issue 14: speculation configured within 3% of off)"
  python3 - $r <<'PY'
import json, statistics, sys
med = {m: statistics.median(json.load(open(f"{sys.argv[1]}/b64-{m}-{i}.json"))["output_tokens_per_s"]
                            for i in (1, 2, 3)) for m in ("off", "draft", "ngram")}
for m in ("draft", "ngram"):
    print(f"b64 {m}: median {med[m]:.0f} vs off {med['off']:.0f} output tokens/s: "
          f"{med[m] / med['off']:.3f}x ({'met' if med[m] >= 0.97 * med['off'] else 'NOT met'})")
PY
} | tee -a $r/summary.txt

wait
echo "== 8B checkpoint: $(tail -1 /tmp/ckpt.log) (at $(el)s)" | tee -a $r/summary.txt
$P bench engine --model /tmp/llama-3.1-8b --device cuda --kv-cache-mb 24000 --decode 1x1024 16x1024 \
  --decode-steps 32 --prefill-len 128 --verify-k 0 1 2 4 8 --output-json $r/verify-8b.json \
  > $r/verify-8b.txt 2>&1
echo "bench engine 8B rc=$? (at $(el)s)" | tee -a $r/summary.txt
grep -E "^device|x the decode step|^decode batch" $r/verify-8b.txt | cut -c1-110 | tee -a $r/summary.txt
tar -czf "$out/spec-gpu.tar.gz" -C $r .
echo "== done at $(el)s"
