#!/usr/bin/env python3
"""A naive PyTorch decode step at a Llama shape, the peer of `pdserve bench engine`:
random bf16 weights, cuBLAS GEMMs (F.linear, q/k/v and gate/up fused), scaled_dot_product_attention
(a GQA group's query heads as one query block) over a contiguous static KV cache, the whole step
captured in one CUDA graph and replayed.

  python3 tools/torch_decode_baseline.py --shape llama-3.1-8b --decode 1x128 64x1024 --out r.json

Each point BATCHxCONTEXT times a step of BATCH sequences whose context is CONTEXT tokens
(the new token's K/V written at the last position, attention over all CONTEXT).
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_random_checkpoint import SHAPES  # noqa: E402


class Step:
    def __init__(self, s, batch, context):
        dev, dt = "cuda", torch.bfloat16
        self.s, self.batch, self.context = s, batch, context
        h, inter, self.nh, self.nkv = s["hidden_size"], s["intermediate_size"], s["num_attention_heads"], \
            s["num_key_value_heads"]
        self.hd = h // self.nh
        q, kv = self.nh * self.hd, self.nkv * self.hd

        def w(*shape):
            return torch.randn(*shape, device=dev, dtype=dt) * 0.02

        self.embed = w(s["vocab_size"], h)
        self.lm_head = self.embed if s["tie_word_embeddings"] else w(s["vocab_size"], h)
        self.final_norm = torch.ones(h, device=dev, dtype=dt)
        self.layers = [dict(n1=torch.ones(h, device=dev, dtype=dt), n2=torch.ones(h, device=dev, dtype=dt),
                            qkv=w(q + 2 * kv, h), o=w(h, q), gate_up=w(2 * inter, h), down=w(h, inter))
                       for _ in range(s["num_hidden_layers"])]
        self.k_cache = [w(batch, self.nkv, context, self.hd) for _ in self.layers]
        self.v_cache = [w(batch, self.nkv, context, self.hd) for _ in self.layers]
        self.ids = torch.randint(0, s["vocab_size"], (batch,), device=dev)
        inv = 1.0 / (500000.0 ** (torch.arange(0, self.hd, 2, device=dev, dtype=torch.float32) / self.hd))
        angle = (context - 1) * inv
        self.cos = torch.cat([angle.cos(), angle.cos()]).to(dt)
        self.sin = torch.cat([angle.sin(), angle.sin()]).to(dt)
        self.pos = torch.tensor([context - 1], device=dev)

    def rope(self, x):
        half = self.hd // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * self.cos + rot * self.sin

    def forward(self):
        b, nh, nkv, hd = self.batch, self.nh, self.nkv, self.hd
        x = F.embedding(self.ids, self.embed)
        for i, l in enumerate(self.layers):
            y = F.rms_norm(x, (x.shape[-1],), l["n1"], 1e-5)
            qkv = F.linear(y, l["qkv"])
            q, k, v = qkv.split([nh * hd, nkv * hd, nkv * hd], dim=-1)
            q = self.rope(q.view(b, nh, 1, hd))
            k = self.rope(k.view(b, nkv, 1, hd))
            self.k_cache[i].index_copy_(2, self.pos, k)
            self.v_cache[i].index_copy_(2, self.pos, v.view(b, nkv, 1, hd))
            # The query heads of a KV group as that group's queries: one K/V read per group.
            a = F.scaled_dot_product_attention(q.view(b, nkv, nh // nkv, hd), self.k_cache[i], self.v_cache[i])
            x = x + F.linear(a.reshape(b, nh * hd), l["o"])
            y = F.rms_norm(x, (x.shape[-1],), l["n2"], 1e-5)
            gate, up = F.linear(y, l["gate_up"]).chunk(2, dim=-1)
            x = x + F.linear(F.silu(gate) * up, l["down"])
        x = F.rms_norm(x, (x.shape[-1],), self.final_norm, 1e-5)
        return F.linear(x, self.lm_head).argmax(dim=-1)


def time_point(shape, batch, context, steps):
    step = Step(SHAPES[shape], batch, context)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step.forward()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step.forward()
    for _ in range(5):
        graph.replay()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(steps):
        graph.replay()
    end.record()
    end.synchronize()
    seconds = start.elapsed_time(end) / 1e3 / steps
    del graph, step
    torch.cuda.empty_cache()
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--decode", nargs="+", default=["1x128", "64x1024"], help="BATCHxCONTEXT points")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = True
    figures = []
    for point in args.decode:
        batch, context = (int(v) for v in point.split("x"))
        secs = time_point(args.shape, batch, context, args.steps)
        figures.append({"name": f"decode batch {batch} at {context}", "batch": batch, "context": context,
                        "seconds": secs})
        print(f"torch {args.shape} decode batch {batch} at {context}: {secs * 1e3:.3f} ms per step", flush=True)
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "shape": args.shape,
              "figures": figures}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
