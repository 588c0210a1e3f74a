#!/usr/bin/env python3
"""Writes a random-weight Hugging Face checkpoint at a real model's shape,
for speed measurements on the GPU machine (nothing can be downloaded there).

  python3 tools/make_random_checkpoint.py --shape llama-3.1-8b --out /tmp/llama8b
"""
import argparse
import json

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {
    # The published configs' shapes (vocab, hidden, layers, heads, kv heads, MLP).
    "llama-3.2-1b": dict(vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
                         num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=True),
    "llama-3.1-8b": dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                         num_attention_heads=32, num_key_value_heads=8, tie_word_embeddings=False),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    config = LlamaConfig(**SHAPES[args.shape], max_position_embeddings=8192, rope_theta=500000.0,
                         rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                       "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
                         rms_norm_eps=1e-5, bos_token_id=128000, eos_token_id=128001)
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(args.out, safe_serialization=True, max_shard_size="5GB")
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"shape": args.shape, "parameters": n, "out": args.out}))


if __name__ == "__main__":
    main()
