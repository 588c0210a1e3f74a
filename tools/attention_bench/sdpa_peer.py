#!/usr/bin/env python3
"""The PyTorch peer of tools/attention_bench, run in the same device call.

Times torch.nn.functional.scaled_dot_product_attention at the shapes that
attention_bench times (32 query heads / 8 KV heads, d=128: 4096 tokens causal,
and 2048 new tokens over 2048 earlier ones, causal aligned to the bottom
right), with PyTorch's default backend choice and with each backend forced,
and measures the two floors of the same GPU: the dense bf16 GEMM rate
(8192^3 matmul) and device-to-device copy bandwidth. FLOPs count causal
attention as half, as attention_bench does. Writes JSON to argv[1].
"""
import json
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.attention.bias import causal_lower_right

H, KVH, D = 32, 8, 128


def median_ms(fn, reps=20):
    for _ in range(3):
        fn()
    ev = [torch.cuda.Event(enable_timing=True) for _ in range(reps + 1)]
    ev[0].record()
    for i in range(reps):
        fn()
        ev[i + 1].record()
    torch.cuda.synchronize()
    ms = sorted(ev[i].elapsed_time(ev[i + 1]) for i in range(reps))
    return ms[reps // 2]


def sdpa_case(new, cached, backend):
    total = new + cached
    q = torch.randn(1, H, new, D, dtype=torch.bfloat16, device="cuda")
    k = torch.randn(1, KVH, total, D, dtype=torch.bfloat16, device="cuda")
    v = torch.randn(1, KVH, total, D, dtype=torch.bfloat16, device="cuda")
    mask = causal_lower_right(new, total) if cached else None

    def call(k=k, v=v, gqa=True):
        if mask is None:
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=gqa)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, enable_gqa=gqa)

    # enable_gqa where the backend takes it, else K/V repeated to 32 heads
    # (the same FLOPs; only the bytes read differ).
    ke, ve = k.repeat_interleave(H // KVH, dim=1), v.repeat_interleave(H // KVH, dim=1)
    attempts = [("gqa", lambda: call()), ("repeated_kv", lambda: call(ke, ve, False))]
    for how, fn in attempts:
        try:
            if backend is None:
                ms = median_ms(fn)
            else:
                with sdpa_kernel([backend]):
                    ms = median_ms(fn)
            return ms, how
        except RuntimeError as e:  # the backend refuses this shape or mode
            last = str(e).splitlines()[0][:160]
    return None, last


def main():
    torch.manual_seed(0)
    props = torch.cuda.get_device_properties(0)
    res = {"device": props.name, "torch": torch.__version__, "sdpa": []}

    n = 8192
    a = torch.rand(n, n, dtype=torch.bfloat16, device="cuda") - 0.5
    b = torch.rand(n, n, dtype=torch.bfloat16, device="cuda") - 0.5
    res["gemm_tflops"] = 2 * n**3 / (median_ms(lambda: a @ b) * 1e-3) / 1e12
    src = torch.rand(1 << 29, dtype=torch.bfloat16, device="cuda")
    dst = torch.empty_like(src)
    res["copy_gbps"] = 2 * src.numel() * 2 / (median_ms(lambda: dst.copy_(src)) * 1e-3) / 1e9
    del a, b, src, dst

    backends = [("default", None), ("flash", SDPBackend.FLASH_ATTENTION),
                ("cudnn", SDPBackend.CUDNN_ATTENTION), ("efficient", SDPBackend.EFFICIENT_ATTENTION)]
    for name, new, cached in [("causal 4096", 4096, 0), ("2048 new over 2048 cached", 2048, 2048)]:
        flops = 4.0 * H * D * (new * cached + 0.5 * new * new)
        for bname, backend in backends:
            ms, how = sdpa_case(new, cached, backend)
            row = {"name": name, "backend": bname, "how": how}
            if ms is not None:
                row.update(ms=ms, tflops=flops / (ms * 1e-3) / 1e12)
            res["sdpa"].append(row)
            shown = f"{ms:8.3f} ms {row['tflops']:7.1f} TFLOP/s" if ms else "refused"
            print(f"sdpa {name:28s} {bname:10s} {shown}  ({how})")
    print(f"gemm {res['gemm_tflops']:.1f} TFLOP/s, copy {res['copy_gbps']:.0f} GB/s")
    if len(sys.argv) > 1:
        with open(sys.argv[1], "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
