#!/usr/bin/env python3
"""Write the Hugging Face reference fixtures that pdserve's engine is checked
against (tests/fixtures/).

For each architecture shape the engine supports, a tiny random-weight HF
checkpoint is saved (tests/fixtures/<name>/: config.json, safetensors, ...)
and the reference is computed from the *saved* checkpoint reloaded in fp32
with eager attention on the CPU (no TF32, no fused kernels):

  tests/fixtures/<name>/fixture.json
    {"model": name, "transformers_version": ..., "cases": [
       {"prompt_ids": [...],
        "top_logits": {"ids": [64 ids], "values": [64 floats]},  # last prompt position
        "greedy_ids": [32 ids],       # argmax loop, full recompute, no eos stop
        "min_margin": float,          # smallest top1-top2 logit gap over the
        "min_margin_step": int}, ...]}#  prompt logits and the 32 greedy steps

With --demo-dir, the same is done for the trained demo target
(tests/fixtures/demo/fixture.json, "model_dir": "models/pdserve-demo", real
text prompts, "prompt_text" per case).

Run where torch + transformers are installed:
  python3 tools/make_hf_fixtures.py --out tests/fixtures --demo-dir models/pdserve-demo
"""

import argparse
import json
import os
import random
import sys

SEED = 20240601
TOP_K = 64
GREEDY_STEPS = 32
PROMPT_LENGTHS = [1, 7, 40, 100]
MARGIN_WANTED = 0.02  # logits; fp32 noise is ~1e-5 at these magnitudes
MAX_PROMPT_TRIES = 16
VOCAB = 512


def tiny_specs():
    """name -> (config class name, model class name, config kwargs, saved dtype, save kwargs)."""
    common = dict(vocab_size=VOCAB, hidden_size=64, num_attention_heads=4, max_position_embeddings=512,
                  rms_norm_eps=1e-5, initializer_range=0.08, bos_token_id=1, eos_token_id=2,
                  pad_token_id=None, hidden_act="silu")
    return {
        "llama3": ("LlamaConfig", "LlamaForCausalLM", dict(
            common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=128,
            tie_word_embeddings=False,
            rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                             "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 32}), "bfloat16", {}),
        "mistral": ("MistralConfig", "MistralForCausalLM", dict(
            common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=160,
            tie_word_embeddings=False, sliding_window=16,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "float16", {}),
        "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(
            common, num_hidden_layers=2, num_key_value_heads=2, intermediate_size=192,
            tie_word_embeddings=False, use_sliding_window=False,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), "float32", {}),
        "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(
            common, num_hidden_layers=3, num_key_value_heads=2, intermediate_size=128, head_dim=32,
            tie_word_embeddings=True, use_sliding_window=False, attention_bias=False,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}), "bfloat16", {}),
        "mha": ("LlamaConfig", "LlamaForCausalLM", dict(
            common, num_hidden_layers=2, num_key_value_heads=4, intermediate_size=128,
            tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
            rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0}), "float32", {}),
        "mqa": ("LlamaConfig", "LlamaForCausalLM", dict(
            common, num_hidden_layers=3, num_key_value_heads=1, intermediate_size=128,
            tie_word_embeddings=True,
            rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0,
                             "original_max_position_embeddings": 128}), "bfloat16", {}),
        "sharded": ("LlamaConfig", "LlamaForCausalLM", dict(
            common, num_hidden_layers=3, num_key_value_heads=2, intermediate_size=192,
            tie_word_embeddings=False,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0}), "float32",
            {"max_shard_size": "150KB"}),
    }


def perturb_(model, gen):
    """HF init leaves norms at 1 and biases at 0; randomize them so the engine's
    use of every norm weight and bias is actually checked."""
    import torch
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name and p.dim() == 1:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def top2_margin(logits):
    import torch
    v = torch.topk(logits, 2).values
    return float(v[0] - v[1])


def reference_case(model, prompt_ids):
    import torch
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([prompt_ids])).logits[0, -1].float()
        top = torch.topk(logits, TOP_K)
        margins = [top2_margin(logits)]
        ids = list(prompt_ids)
        greedy_ids = []
        step_logits = logits
        for step in range(GREEDY_STEPS):
            if step > 0:
                step_logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
                margins.append(top2_margin(step_logits))
            nxt = int(torch.argmax(step_logits))
            greedy_ids.append(nxt)
            ids.append(nxt)
    m = min(margins)
    return {
        "prompt_ids": list(prompt_ids),
        "top_logits": {"ids": [int(i) for i in top.indices], "values": [float(v) for v in top.values]},
        "greedy_ids": greedy_ids,
        "min_margin": m,
        "min_margin_step": margins.index(m),
    }


def load_fp32(path, **kw):
    import torch
    from transformers import AutoModelForCausalLM
    m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, attn_implementation="eager", **kw)
    m.eval()
    return m


def dir_files(path):
    return sorted(f for f in os.listdir(path) if f != "fixture.json")


def make_tiny(name, spec, out_root, meta):
    import torch
    import transformers

    cfg_cls, model_cls, cfg_kw, dtype, save_kw = spec
    torch.manual_seed(SEED + sum(map(ord, name)))
    gen = torch.Generator().manual_seed(SEED + 17 * sum(map(ord, name)))
    cfg = getattr(transformers, cfg_cls)(**cfg_kw)
    model = getattr(transformers, model_cls)(cfg)
    perturb_(model, gen)
    model = model.to(getattr(torch, dtype))
    path = os.path.join(out_root, name)
    os.makedirs(path, exist_ok=True)
    for f in os.listdir(path):  # re-runnable: no stale shards
        os.remove(os.path.join(path, f))
    model.save_pretrained(path, **save_kw)
    n_params = sum(p.numel() for p in model.parameters())

    ref = load_fp32(path)
    rng = random.Random(SEED + 31 * sum(map(ord, name)))
    cases = []
    for n in PROMPT_LENGTHS:
        best = None
        for attempt in range(MAX_PROMPT_TRIES):
            prompt = [rng.randrange(VOCAB) for _ in range(n)]
            case = reference_case(ref, prompt)
            case["prompt_tries"] = attempt + 1
            if best is None or case["min_margin"] > best["min_margin"]:
                best = case
            if case["min_margin"] >= MARGIN_WANTED:
                break
        cases.append(best)

    notes = {}
    if name == "mistral":
        # Show that the window matters for the long prompts: same weights, no window.
        try:
            nowin = load_fp32(path, sliding_window=None)
            with torch.no_grad():
                for c in cases:
                    a = ref(input_ids=torch.tensor([c["prompt_ids"]])).logits[0, -1]
                    b = nowin(input_ids=torch.tensor([c["prompt_ids"]])).logits[0, -1]
                    notes[f"len{len(c['prompt_ids'])}_maxdiff_vs_no_window"] = float((a - b).abs().max())
        except Exception as e:  # informational only
            notes["no_window_check_error"] = repr(e)
    if name == "sharded":
        files = dir_files(path)
        shards = [f for f in files if f.startswith("model-") and f.endswith(".safetensors")]
        assert "model.safetensors.index.json" in files and len(shards) >= 2, files
        notes["shards"] = len(shards)

    fixture = {
        "model": name,
        "architecture": model_cls,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "saved_dtype": dtype,
        "reference": "fp32 weights (upcast from saved dtype), eager attention, CPU",
        "num_parameters": n_params,
        "top_k": TOP_K,
        "greedy_steps": GREEDY_STEPS,
        "cases": cases,
    }
    if notes:
        fixture["notes"] = notes
    with open(os.path.join(path, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
    meta[name] = {"params": n_params, "bytes": size, "files": dir_files(path),
                  "min_margins": [round(c["min_margin"], 5) for c in cases],
                  "prompt_tries": [c["prompt_tries"] for c in cases], **notes}
    print(f"{name:8s} params {n_params:7d} bytes {size:8d} margins {meta[name]['min_margins']} "
          f"tries {meta[name]['prompt_tries']} {notes or ''}", flush=True)
    assert size < 2 * 1024 * 1024, (name, size)


DEMO_LONG = (
    "Psalms 23:1 The LORD is my shepherd; I shall not want.\n"
    "Psalms 23:2 He maketh me to lie down in green pastures: he leadeth me beside the still waters.\n"
    "Psalms 23:3 He restoreth my soul: he leadeth me in the paths of righteousness for his name's sake.\n"
    "Psalms 23:4 Yea, though I walk through the valley of the shadow of death, I will fear no evil: "
    "for thou art with me; thy rod and thy staff they comfort me.\n"
    "Psalms 23:5"
)


def make_demo(demo_dir, out_root, model_dir_name, meta):
    import torch
    import transformers
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    htok = AutoTokenizer.from_pretrained(demo_dir)
    rtok = Tokenizer.from_file(os.path.join(demo_dir, "tokenizer.json"))
    ref = load_fp32(demo_dir)
    messages = [{"role": "user", "content": "What does John 3:16 say?"}]
    chat_text = htok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    prompts = [("In the beginning", None), ("John 3:16", None), (chat_text, messages), (DEMO_LONG, None)]
    cases = []
    for text, msgs in prompts:
        ids = htok.encode(text, add_special_tokens=False)
        assert ids == rtok.encode(text, add_special_tokens=False).ids, text
        if msgs is not None:
            t = htok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True)
            t = t["input_ids"] if hasattr(t, "keys") else t
            assert list(t) == ids, (t, ids)
        case = {"prompt_text": text}
        if msgs is not None:
            case["messages"] = msgs
            case["add_generation_prompt"] = True
        case.update(reference_case(ref, ids))
        case["greedy_text"] = htok.decode(case["greedy_ids"])
        cases.append(case)
        print(f"demo len {len(ids):3d} margin {case['min_margin']:.4f} {text[-40:]!r} -> "
              f"{case['greedy_text']!r}", flush=True)
    path = os.path.join(out_root, "demo")
    os.makedirs(path, exist_ok=True)
    fixture = {
        "model": "demo",
        "model_dir": model_dir_name,
        "architecture": "LlamaForCausalLM",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "saved_dtype": "bfloat16",
        "reference": "fp32 weights (upcast from saved dtype), eager attention, CPU",
        "top_k": TOP_K,
        "greedy_steps": GREEDY_STEPS,
        "cases": cases,
    }
    with open(os.path.join(path, "fixture.json"), "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    meta["demo"] = {"prompt_lens": [len(c["prompt_ids"]) for c in cases],
                    "min_margins": [round(c["min_margin"], 5) for c in cases]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="tests/fixtures")
    ap.add_argument("--only", default="", help="comma-separated subset of tiny models")
    ap.add_argument("--skip-tiny", action="store_true", help="only the demo fixture")
    ap.add_argument("--demo-dir", default="", help="trained demo target folder (skip if empty)")
    ap.add_argument("--demo-model-dir-name", default="models/pdserve-demo")
    args = ap.parse_args()

    import torch
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_num_threads(min(16, os.cpu_count() or 1))
    torch.use_deterministic_algorithms(True)

    meta = {}
    specs = tiny_specs()
    names = [] if args.skip_tiny else [n for n in specs if not args.only or n in args.only.split(",")]
    failed = []
    for name in names:
        try:
            make_tiny(name, specs[name], args.out, meta)
        except Exception:  # keep going: report every failing shape at once
            import traceback
            traceback.print_exc()
            failed.append(name)
    if args.demo_dir:
        make_demo(args.demo_dir, args.out, args.demo_model_dir_name, meta)
    print(json.dumps(meta, indent=1))
    if failed:
        print("FAILED:", ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
