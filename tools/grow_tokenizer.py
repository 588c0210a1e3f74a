#!/usr/bin/env python3
"""Grows a byte-level BPE tokenizer.json to a larger vocabulary, for
measurements at a real model's vocabulary size (a random-weight checkpoint
of tools/make_random_checkpoint.py has 128256 tokens; no tokenizer of that
size is in the fixtures and nothing can be downloaded on the GPU machine).

  python3 tools/grow_tokenizer.py models/pdserve-demo/tokenizer.json 128256 /tmp/llama-3.2-1b/tokenizer.json

New tokens join two existing ones (at most 16 bytes), each with the merge
that makes it, as tools/structured_bench.cpp grows its vocabulary in memory;
seeded, so runs write the same file. Only byte-level tokenizers: their
vocabulary strings are one character per byte, so a join is a valid token.
"""
import argparse
import json
import random
import sys

MAX_TOKEN_BYTES = 16


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tokenizer")
    ap.add_argument("vocab_size", type=int)
    ap.add_argument("out")
    args = ap.parse_args()
    with open(args.tokenizer, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok.get("model", {})
    if model.get("type") != "BPE" or (tok.get("pre_tokenizer") or {}).get("type") != "ByteLevel":
        sys.exit(f"grow_tokenizer: {args.tokenizer} is not a byte-level BPE tokenizer")
    vocab = model["vocab"]
    special = {t["content"] for t in tok.get("added_tokens", [])}
    next_id = 1 + max(list(vocab.values()) + [t["id"] for t in tok.get("added_tokens", [])])
    if args.vocab_size < next_id:
        sys.exit(f"grow_tokenizer: the tokenizer has {next_id} tokens already")
    usable = [t for t in vocab if t not in special]
    rng = random.Random(1)
    while next_id < args.vocab_size:
        a, b = rng.choice(usable), rng.choice(usable)
        joined = a + b
        if len(joined) > MAX_TOKEN_BYTES or joined in vocab:
            continue
        vocab[joined] = next_id
        model["merges"].append([a, b])
        usable.append(joined)
        next_id += 1
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False)
    print(json.dumps({"tokenizer": args.out, "vocab_size": next_id}))


if __name__ == "__main__":
    main()
