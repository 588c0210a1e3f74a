#!/usr/bin/env python3
"""Build pdserve's demo models: a byte-level BPE tokenizer and two small Llama
models (target and speculative-decoding draft) trained on the King James Bible.

Two steps, run where each can run:

  1. corpus (any machine with Debian's `bible-kjv` package; standard library only):
       python3 tools/train_demo_model.py corpus --out build/kjv-corpus
     writes train.jsonl / heldout.jsonl (one JSON string per document) and
     meta.json, deterministically (seeded).

  2. train (a GPU machine with torch, transformers and tokenizers):
       python3 tools/train_demo_model.py train --corpus build/kjv-corpus --out models
     trains the tokenizer, the target (models/pdserve-demo) and the draft
     (models/pdserve-demo-draft), and writes loss tables and samples into
     <out>/train_report.json. `--smoke` runs the whole pipeline at tiny step
     counts into a scratch folder first (use it to check an environment).

Everything is seeded; re-running gives the same corpus and (up to GPU
nondeterminism in the training kernels) the same models.
"""

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time

SEED = 1611  # the year the King James Version was published

SPECIAL_TOKENS = ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
BOS = "<|endoftext|>"
EOS = "<|end|>"
VOCAB_SIZE = 4096

# Published-style Jinja chat template (same shape as Phi-3 / Zephyr ones).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('Only system, user and assistant roles are supported.') }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

# Abbreviations printed by `bible -f` -> full book names.
BOOKS = [
    ("Ge", "Genesis"), ("Exo", "Exodus"), ("Lev", "Leviticus"), ("Num", "Numbers"),
    ("Deu", "Deuteronomy"), ("Josh", "Joshua"), ("Jdgs", "Judges"), ("Ruth", "Ruth"),
    ("1Sm", "1 Samuel"), ("2Sm", "2 Samuel"), ("1Ki", "1 Kings"), ("2Ki", "2 Kings"),
    ("1Chr", "1 Chronicles"), ("2Chr", "2 Chronicles"), ("Ezra", "Ezra"), ("Neh", "Nehemiah"),
    ("Est", "Esther"), ("Job", "Job"), ("Psa", "Psalms"), ("Prv", "Proverbs"),
    ("Eccl", "Ecclesiastes"), ("SSol", "Song of Solomon"), ("Isa", "Isaiah"), ("Jer", "Jeremiah"),
    ("Lam", "Lamentations"), ("Eze", "Ezekiel"), ("Dan", "Daniel"), ("Hos", "Hosea"),
    ("Joel", "Joel"), ("Amos", "Amos"), ("Obad", "Obadiah"), ("Jonah", "Jonah"),
    ("Mic", "Micah"), ("Nahum", "Nahum"), ("Hab", "Habakkuk"), ("Zep", "Zephaniah"),
    ("Hag", "Haggai"), ("Zec", "Zechariah"), ("Mal", "Malachi"), ("Mat", "Matthew"),
    ("Mark", "Mark"), ("Luke", "Luke"), ("John", "John"), ("Acts", "Acts"),
    ("Rom", "Romans"), ("1Cor", "1 Corinthians"), ("2Cor", "2 Corinthians"), ("Gal", "Galatians"),
    ("Eph", "Ephesians"), ("Phi", "Philippians"), ("Col", "Colossians"), ("1Th", "1 Thessalonians"),
    ("2Th", "2 Thessalonians"), ("1Tim", "1 Timothy"), ("2Tim", "2 Timothy"), ("Titus", "Titus"),
    ("Phmn", "Philemon"), ("Heb", "Hebrews"), ("Jas", "James"), ("1Pet", "1 Peter"),
    ("2Pet", "2 Peter"), ("1Jn", "1 John"), ("2Jn", "2 John"), ("3Jn", "3 John"),
    ("Jude", "Jude"), ("Rev", "Revelation"),
]

SYSTEM_PROMPTS = [
    "You are a helpful assistant that quotes the King James Bible.",
    "You recite scripture from the King James Version.",
    "Answer with the exact text of the King James Bible.",
]
SINGLE_VERSE_Q = [
    "What does {ref} say?",
    "Recite {ref}.",
    "Quote {ref}.",
    "What is written in {ref}?",
    "Please recite {ref}.",
    "Give me {ref}.",
    "{ref}",
]
PASSAGE_Q = [
    "Recite {ref}.",
    "Quote {ref}, please.",
    "What does {ref} say?",
    "Read me {ref}.",
]

# Chapters held out of training entirely (for the held-out loss): every 50th
# chapter in canonical order, starting at the 25th.
HELDOUT_EVERY = 50
HELDOUT_OFFSET = 25


# --------------------------------------------------------------------------
# corpus (standard library only)
# --------------------------------------------------------------------------

def read_bible():
    out = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], check=True,
                         capture_output=True, text=True).stdout
    abbrev = dict(BOOKS)
    line_re = re.compile(r"^([1-3]?[A-Za-z]+)(\d+):(\d+) (.*)$")
    verses = []
    for line in out.splitlines():
        if not line.strip():
            continue
        m = line_re.match(line)
        if not m:
            raise SystemExit(f"unexpected line from bible: {line!r}")
        book = abbrev[m.group(1)]
        verses.append((book, int(m.group(2)), int(m.group(3)), " ".join(m.group(4).split())))
    if len(verses) != 31102:
        raise SystemExit(f"expected 31102 verses, got {len(verses)}")
    return verses


def chapters_of(verses):
    chapters = []  # [(book, chapter, [(verse, text), ...])]
    for book, ch, v, text in verses:
        if not chapters or chapters[-1][0] != book or chapters[-1][1] != ch:
            chapters.append((book, ch, []))
        chapters[-1][2].append((v, text))
    return chapters


def chapter_doc_refs(book, ch, vs):
    # "Genesis 1:1 In the beginning ..." one verse per line.
    return "\n".join(f"{book} {ch}:{v} {t}" for v, t in vs)


def chapter_doc_prose(book, ch, vs):
    # "Genesis 1\n\nIn the beginning ... And the earth ..." running text.
    return f"{book} {ch}\n\n" + " ".join(t for _, t in vs)


def chat_doc(turns, system=None):
    # Must match CHAT_TEMPLATE (bos token excluded: the data loader puts
    # <|endoftext|> between documents).
    s = ""
    if system:
        s += f"<|system|>\n{system}<|end|>\n"
    for q, a in turns:
        s += f"<|user|>\n{q}<|end|>\n<|assistant|>\n{a}<|end|>\n"
    return s


def make_qa(rng, chapters):
    book, ch, vs = rng.choice(chapters)
    if len(vs) > 1 and rng.random() < 0.4:
        n = rng.randint(2, min(5, len(vs)))
        i = rng.randint(0, len(vs) - n)
        part = vs[i:i + n]
        ref = f"{book} {ch}:{part[0][0]}-{part[-1][0]}"
        q = rng.choice(PASSAGE_Q).format(ref=ref)
        return q, " ".join(t for _, t in part)
    v, t = rng.choice(vs)
    ref = f"{book} {ch}:{v}"
    return rng.choice(SINGLE_VERSE_Q).format(ref=ref), t


def build_corpus(out_dir, n_chat):
    rng = random.Random(SEED)
    verses = read_bible()
    chapters = chapters_of(verses)
    held_idx = set(range(HELDOUT_OFFSET, len(chapters), HELDOUT_EVERY))
    train_ch = [c for i, c in enumerate(chapters) if i not in held_idx]
    held_ch = [c for i, c in enumerate(chapters) if i in held_idx]

    def docs_for(chs, n_chat_docs):
        docs = []
        for book, ch, vs in chs:
            docs.append(chapter_doc_refs(book, ch, vs))
            docs.append(chapter_doc_prose(book, ch, vs))
        for _ in range(n_chat_docs):
            system = rng.choice(SYSTEM_PROMPTS) if rng.random() < 0.3 else None
            n_turns = 2 if rng.random() < 0.2 else 1
            docs.append(chat_doc([make_qa(rng, chs) for _ in range(n_turns)], system))
        rng.shuffle(docs)
        return docs

    train = docs_for(train_ch, n_chat)
    held = docs_for(held_ch, max(1, n_chat * len(held_ch) // len(train_ch)))
    os.makedirs(out_dir, exist_ok=True)
    for name, docs in (("train", train), ("heldout", held)):
        with open(os.path.join(out_dir, f"{name}.jsonl"), "w") as f:
            for d in docs:
                f.write(json.dumps(d) + "\n")
    meta = {
        "seed": SEED, "chapters": len(chapters), "train_chapters": len(train_ch),
        "heldout_chapters": [f"{b} {c}" for b, c, _ in held_ch],
        "train_docs": len(train), "heldout_docs": len(held),
        "train_chars": sum(len(d) for d in train), "heldout_chars": sum(len(d) for d in held),
        "chat_docs_train": n_chat,
    }
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps({k: v for k, v in meta.items() if k != "heldout_chapters"}))
    print("held-out chapters:", ", ".join(meta["heldout_chapters"]))


# --------------------------------------------------------------------------
# train (torch, transformers, tokenizers)
# --------------------------------------------------------------------------

def load_docs(corpus_dir, name):
    with open(os.path.join(corpus_dir, f"{name}.jsonl")) as f:
        return [json.loads(line) for line in f]


def train_tokenizer(train_docs):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Chat markup is made of special tokens: learn the merges on the text alone.
    special = re.compile("|".join(re.escape(t) for t in SPECIAL_TOKENS))
    tok.train_from_iterator((special.sub("\n", d) for d in train_docs), trainer=trainer)
    assert tok.get_vocab_size() <= VOCAB_SIZE, tok.get_vocab_size()
    for i, s in enumerate(SPECIAL_TOKENS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    return tok


def tokenizer_config():
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": BOS,
        "add_bos_token": False,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "chat_template": CHAT_TEMPLATE,
    }


def write_tokenizer_files(tok, model_dir):
    os.makedirs(model_dir, exist_ok=True)
    tok.save(os.path.join(model_dir, "tokenizer.json"))
    with open(os.path.join(model_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2)
        f.write("\n")
    with open(os.path.join(model_dir, "special_tokens_map.json"), "w") as f:
        json.dump({"bos_token": BOS, "eos_token": EOS, "pad_token": BOS}, f, indent=2)
        f.write("\n")


def encode_docs(tok, docs):
    import numpy as np
    bos = tok.token_to_id(BOS)
    encs = tok.encode_batch(docs, add_special_tokens=False)
    total = sum(len(e.ids) + 1 for e in encs)
    arr = np.empty(total, dtype=np.int32)
    p = 0
    for e in encs:
        arr[p] = bos
        arr[p + 1:p + 1 + len(e.ids)] = e.ids
        p += 1 + len(e.ids)
    return arr


MODEL_SHAPES = {
    "target": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=6,
                   num_key_value_heads=2, intermediate_size=1024),
    "draft": dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, intermediate_size=512),
}


def make_config(kind, tok):
    from transformers import LlamaConfig
    return LlamaConfig(
        vocab_size=VOCAB_SIZE,
        max_position_embeddings=1024,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=True,
        initializer_range=0.02,
        bos_token_id=tok.token_to_id(BOS),
        eos_token_id=[tok.token_to_id(EOS), tok.token_to_id(BOS)],
        pad_token_id=tok.token_to_id(BOS),
        hidden_act="silu",
        attention_bias=False,
        mlp_bias=False,
        **MODEL_SHAPES[kind],
    )


def greedy(model, ids, n, stop_ids=()):
    import torch
    x = torch.tensor([ids], device=next(model.parameters()).device)
    out = []
    with torch.no_grad():
        past = None
        cur = x
        for _ in range(n):
            r = model(input_ids=cur, past_key_values=past, use_cache=True)
            past = r.past_key_values
            nxt = int(r.logits[0, -1].float().argmax())
            out.append(nxt)
            if nxt in stop_ids:
                break
            cur = torch.tensor([[nxt]], device=x.device)
    return out


def sample_prompts(tok):
    eot, end = tok.token_to_id(BOS), tok.token_to_id(EOS)
    chat = ("<|endoftext|><|user|>\nWhat does John 3:16 say?<|end|>\n<|assistant|>\n")
    chat2 = ("<|endoftext|><|system|>\nYou recite scripture from the King James Version.<|end|>\n"
             "<|user|>\nRecite Genesis 1:1-3.<|end|>\n<|assistant|>\n")
    return [
        ("In the beginning", 60),
        ("Psalms 23:1", 60),
        ("And Jesus said unto them,", 40),
        (chat, 80),
        (chat2, 120),
    ], (eot, end)


def run_samples(model, tok, log):
    prompts, stops = sample_prompts(tok)
    res = []
    model.eval()
    for text, n in prompts:
        ids = tok.encode(text, add_special_tokens=False).ids
        out = greedy(model, ids, n, stop_ids=stops)
        cont = tok.decode(out, skip_special_tokens=False)
        res.append({"prompt": text, "continuation": cont})
        log(f"  PROMPT {text!r}\n  -> {cont!r}")
    model.train()
    return res


def train_model(kind, tok, train_arr, held_arr, args, device, out_dir, log):
    import numpy as np
    import torch
    from transformers import LlamaForCausalLM

    torch.manual_seed(SEED + (0 if kind == "target" else 1))
    cfg = make_config(kind, tok)
    model = LlamaForCausalLM(cfg).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"[{kind}] params {n_params} ({n_params / 1e6:.2f}M)")

    steps = args.target_steps if kind == "target" else args.draft_steps
    lr_max = args.target_lr if kind == "target" else args.draft_lr
    bsz, T = args.batch_size, args.seq_len
    warmup = max(1, min(200, steps // 10))
    eval_every = max(1, steps // 10)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() >= 2 else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr_max, betas=(0.9, 0.95), eps=1e-8, fused=(device == "cuda"))

    def lr_at(step):
        if step < warmup:
            return lr_max * (step + 1) / warmup
        prog = (step - warmup) / max(1, steps - warmup)
        return lr_max * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * prog)))

    train_t = torch.from_numpy(train_arr.astype(np.int64))
    held_t = torch.from_numpy(held_arr.astype(np.int64))
    gen = torch.Generator().manual_seed(SEED + 7)
    # fixed held-out windows: non-overlapping, at most 64 of them
    n_held = min(64, (len(held_t) - 1) // (T + 1))
    held_batch = torch.stack([held_t[i * (T + 1):(i + 1) * (T + 1)] for i in range(n_held)]).to(device)
    # fixed train windows for a comparable train loss estimate
    tr_starts = torch.randint(0, len(train_t) - T - 1, (64,), generator=torch.Generator().manual_seed(SEED + 9))
    train_eval_batch = torch.stack([train_t[s:s + T + 1] for s in tr_starts]).to(device)

    def eval_loss(batch):
        model.eval()
        tot = 0.0
        with torch.no_grad(), torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=(device == "cuda")):
            for i in range(0, len(batch), 16):
                b = batch[i:i + 16]
                logits = model(input_ids=b[:, :-1]).logits.float()
                tot += torch.nn.functional.cross_entropy(
                    logits.reshape(-1, logits.size(-1)), b[:, 1:].reshape(-1), reduction="sum").item()
        model.train()
        return tot / (batch.size(0) * T)

    table = []
    model.train()
    t0 = time.time()
    stopped_early = False
    for step in range(steps + 1):
        if step % eval_every == 0 or step == steps:
            tr, he = eval_loss(train_eval_batch), eval_loss(held_batch)
            table.append({"step": step, "train_loss": round(tr, 4), "heldout_loss": round(he, 4),
                          "elapsed_s": round(time.time() - t0, 1)})
            log(f"[{kind}] step {step:5d} lr {lr_at(min(step, steps - 1)):.2e} "
                f"train {tr:.4f} heldout {he:.4f} ({time.time() - t0:.0f}s)")
        if step == steps:
            break
        if args.time_limit and time.time() - t0 > args.time_limit * (1 if kind == "target" else 0.5):
            log(f"[{kind}] TIME LIMIT hit at step {step}; stopping early")
            tr, he = eval_loss(train_eval_batch), eval_loss(held_batch)
            table.append({"step": step, "train_loss": round(tr, 4), "heldout_loss": round(he, 4),
                          "elapsed_s": round(time.time() - t0, 1)})
            stopped_early = True
            break
        starts = torch.randint(0, len(train_t) - T - 1, (bsz,), generator=gen)
        batch = torch.stack([train_t[s:s + T + 1] for s in starts]).to(device, non_blocking=True)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=(device == "cuda")):
            logits = model(input_ids=batch[:, :-1]).logits
        loss = torch.nn.functional.cross_entropy(
            logits.float().reshape(-1, logits.size(-1)), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step == 20:
            if device == "cuda":
                torch.cuda.synchronize()
            log(f"[{kind}] ~{(time.time() - t0) / 21 * 1000:.0f} ms/step at step 20 (incl. eval)")

    train_s = time.time() - t0
    samples = run_samples(model, tok, log)
    model = model.to(torch.bfloat16)
    model.config.use_cache = True
    model.save_pretrained(out_dir)
    write_tokenizer_files(tok, out_dir)
    return {"params": n_params, "steps_planned": steps, "steps_done": table[-1]["step"],
            "stopped_early": stopped_early, "train_seconds": round(train_s, 1),
            "batch_size": bsz, "seq_len": T, "lr": lr_max, "warmup": warmup,
            "loss_table": table, "samples": samples, "shape": MODEL_SHAPES[kind]}


def write_generation_config(model_dir, tok):
    cfg = {
        "bos_token_id": tok.token_to_id(BOS),
        "eos_token_id": [tok.token_to_id(EOS), tok.token_to_id(BOS)],
        "pad_token_id": tok.token_to_id(BOS),
        "do_sample": False,
    }
    with open(os.path.join(model_dir, "generation_config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def check_hf_roundtrip(model_dir, tok, log):
    """Load the saved folder the way users do and check tokenizer + template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    htok = AutoTokenizer.from_pretrained(model_dir)
    for text in ["In the beginning God created the heaven and the earth.",
                 "Psalms 23:1 The LORD is my shepherd; I shall not want.\n  two  spaces",
                 "<|user|>\nhi<|end|>\n"]:
        a = htok.encode(text, add_special_tokens=False)
        b = tok.encode(text, add_special_tokens=False).ids
        assert a == b, (text, a, b)
        assert htok.decode(a) == text, (htok.decode(a), text)
    msgs = [{"role": "system", "content": "You recite scripture from the King James Version."},
            {"role": "user", "content": "What does John 3:16 say?"}]
    rendered = htok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    expect = ("<|endoftext|><|system|>\nYou recite scripture from the King James Version.<|end|>\n"
              "<|user|>\nWhat does John 3:16 say?<|end|>\n<|assistant|>\n")
    assert rendered == expect, repr(rendered)
    ids = htok.apply_chat_template(msgs, tokenize=True, add_generation_prompt=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    assert list(ids) == tok.encode(expect, add_special_tokens=False).ids, ids
    log(f"apply_chat_template OK: {rendered!r} -> {len(ids)} ids")
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    enc = htok(["In the beginning"], return_tensors="pt", add_special_tokens=False)
    out = model.generate(input_ids=enc["input_ids"], max_new_tokens=24, do_sample=False)
    log(f"HF generate(): {htok.decode(out[0])!r}")
    log(f"eos_token_id in generation_config: {model.generation_config.eos_token_id}")


def run_train(args):
    import numpy as np
    import torch
    import tokenizers
    import transformers

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = "cuda" if torch.cuda.is_available() else "cpu"
    os.makedirs(args.out, exist_ok=True)
    logf = open(os.path.join(args.out, "train_log.txt"), "w")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    log(f"torch {torch.__version__} transformers {transformers.__version__} "
        f"tokenizers {tokenizers.__version__} device {device} "
        f"{torch.cuda.get_device_name() if device == 'cuda' else ''}")
    t0 = time.time()
    train_docs = load_docs(args.corpus, "train")
    held_docs = load_docs(args.corpus, "heldout")
    tok = train_tokenizer(train_docs)
    log(f"tokenizer trained in {time.time() - t0:.1f}s, vocab {tok.get_vocab_size()}")
    train_arr = encode_docs(tok, train_docs)
    held_arr = encode_docs(tok, held_docs)
    log(f"train tokens {len(train_arr)}, held-out tokens {len(held_arr)} "
        f"(chars/token {sum(map(len, train_docs)) / len(train_arr):.2f})")

    report = {"torch": torch.__version__, "transformers": transformers.__version__,
              "tokenizers": tokenizers.__version__,
              "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "train_tokens": int(len(train_arr)), "heldout_tokens": int(len(held_arr)),
              "args": vars(args)}
    for kind, sub in (("target", "pdserve-demo"), ("draft", "pdserve-demo-draft")):
        d = os.path.join(args.out, sub)
        report[kind] = train_model(kind, tok, train_arr, held_arr, args, device, d, log)
        write_generation_config(d, tok)
        check_hf_roundtrip(d, tok, log)
    with open(os.path.join(args.out, "train_report.json"), "w") as f:
        json.dump(report, f, indent=1)
    log(f"total {time.time() - t0:.0f}s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("corpus")
    c.add_argument("--out", required=True)
    c.add_argument("--chat-docs", type=int, default=20000)
    t = sub.add_parser("train")
    t.add_argument("--corpus", required=True)
    t.add_argument("--out", required=True, help="models/ folder (gets pdserve-demo, pdserve-demo-draft)")
    t.add_argument("--target-steps", type=int, default=5000)
    t.add_argument("--draft-steps", type=int, default=4000)
    t.add_argument("--target-lr", type=float, default=1.5e-3)
    t.add_argument("--draft-lr", type=float, default=3e-3)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--seq-len", type=int, default=512)
    t.add_argument("--time-limit", type=float, default=0,
                   help="seconds; stop the target early past it (draft: half). 0 = none")
    args = ap.parse_args()
    if args.cmd == "corpus":
        build_corpus(args.out, args.chat_docs)
    else:
        run_train(args)


if __name__ == "__main__":
    main()
