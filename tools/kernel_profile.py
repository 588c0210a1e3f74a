#!/usr/bin/env python3
"""Per-kernel cost of one decode step, from an ncu CSV (issue 12's method).

    ncu --csv --print-units base --clock-control none --cache-control none \\
        --metrics gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum \\
        pdserve bench engine ... --enforce-eager > ncu.csv
    python3 tools/kernel_profile.py ncu.csv --copy-gbps 3000 [--json out.json]

A step starts at each embedding kernel; the last --steps complete steps
without a kernel named like --exclude (default: prefill attention, so the
decode steps) are averaged. For each kernel of the step: its time, the DRAM bytes it moved and
its bandwidth as a share of --copy-gbps, so the kernels that keep a step off
its floor stand out. ncu runs kernels one at a time, so the sum is the GPU
work of a step without launch gaps.
"""
import argparse
import csv
import json
import sys


def read_kernels(path):
    kernels = {}  # id -> {name, metrics}
    with open(path, newline="") as f:
        lines = [line for line in f if line.startswith('"')]
    for row in csv.DictReader(lines):
        k = kernels.setdefault(int(row["ID"]), {"name": row["Kernel Name"], "m": {}})
        try:
            k["m"][row["Metric Name"]] = float(row["Metric Value"].replace(",", ""))
        except ValueError:
            pass
    return [kernels[i] for i in sorted(kernels)]


def short(name):
    name = name.split("(")[0]
    for cut in ("void ", "pdserve::backend::cuda::"):
        name = name.replace(cut, "")
    return name[:60]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--copy-gbps", type=float, required=True)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--exclude", default="prefill_attention")
    ap.add_argument("--json")
    a = ap.parse_args()
    ks = read_kernels(a.csv)
    starts = [i for i, k in enumerate(ks) if "embedding" in k["name"]]
    steps = [ks[starts[i]:starts[i + 1]] for i in range(len(starts) - 1)]
    steps = [s for s in steps if not any(a.exclude in k["name"] for k in s)][-a.steps:]
    if len(steps) < a.steps:
        sys.exit(f"kernel_profile: {len(steps)} steps without {a.exclude} in {a.csv}, need {a.steps}")
    n = len(steps[-1])
    steps = [s for s in steps if len(s) == n]
    rows = []
    for pos in range(n):
        m = [s[pos]["m"] for s in steps]
        ns = sum(x.get("gpu__time_duration.sum", 0) for x in m) / len(m)
        nbytes = sum(x.get("dram__bytes_read.sum", 0) + x.get("dram__bytes_write.sum", 0) for x in m) / len(m)
        rows.append({"pos": pos, "kernel": short(steps[-1][pos]["name"]), "ns": ns, "bytes": nbytes})
    total_ns = sum(r["ns"] for r in rows)
    total_b = sum(r["bytes"] for r in rows)
    by = {}
    for r in rows:
        g = by.setdefault(r["kernel"], {"kernel": r["kernel"], "count": 0, "ns": 0.0, "bytes": 0.0})
        g["count"] += 1
        g["ns"] += r["ns"]
        g["bytes"] += r["bytes"]
    groups = sorted(by.values(), key=lambda g: -g["ns"])
    floor_ns = total_b / a.copy_gbps  # bytes / (GB/s) = ns
    print(f"{n} kernels per step, GPU work {total_ns / 1e3:.1f} us, DRAM {total_b / 1e6:.1f} MB "
          f"(at {a.copy_gbps:.0f} GB/s: {floor_ns / 1e3:.1f} us, {floor_ns / total_ns:.0%} of the work)")
    print(f"{'kernel':60} {'count':>5} {'us':>9} {'share':>6} {'us each':>8} {'GB/s':>7} {'of copy':>7}")
    for g in groups:
        gbps = g["bytes"] / g["ns"] if g["ns"] else 0
        print(f"{g['kernel']:60} {g['count']:5d} {g['ns'] / 1e3:9.1f} {g['ns'] / total_ns:6.1%} "
              f"{g['ns'] / g['count'] / 1e3:8.2f} {gbps:7.0f} {gbps / a.copy_gbps:7.0%}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"kernels_per_step": n, "gpu_work_ns": total_ns, "dram_bytes": total_b,
                       "copy_gbps": a.copy_gbps, "kernels": groups, "step": rows}, f, indent=1)


if __name__ == "__main__":
    main()
