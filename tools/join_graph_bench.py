#!/usr/bin/env python3
"""Joins the `pdserve bench engine` runs of scripts/gpu-bench.sh into one table and one JSON:
per shape and decode point, the step time with CUDA graphs and eagerly, each beside the floor
its own run measured, the kernels one replay launches, and the PyTorch peer where it ran.

  python3 tools/join_graph_bench.py OUT_DIR   # reads bench-SHAPE-{graphs,eager}.json, torch-SHAPE.json
                                              # writes OUT_DIR/graphs-vs-eager.json
"""
import glob
import json
import os
import sys


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def main():
    out = sys.argv[1]
    rows = []
    for graphs_path in sorted(glob.glob(os.path.join(out, "bench-*-graphs.json"))):
        shape = os.path.basename(graphs_path)[len("bench-"):-len("-graphs.json")]
        graphs, eager = load(graphs_path), load(os.path.join(out, f"bench-{shape}-eager.json"))
        torch = load(os.path.join(out, f"torch-{shape}.json"))
        if eager is None:
            continue
        peer = {f["name"]: f["seconds"] for f in torch["figures"]} if torch else {}
        by_name = {f["name"]: f for f in eager["figures"]}
        for g in graphs["figures"]:
            e = by_name.get(g["name"])
            if e is None or not g["name"].startswith("decode"):
                continue
            point = g["name"].removesuffix(" (per step)")
            rows.append({"shape": shape, "point": point, "gpu": graphs["gpu"],
                         "graphs_seconds": g["seconds"], "graphs_floor_seconds": g["floor_seconds"],
                         "eager_seconds": e["seconds"], "eager_floor_seconds": e["floor_seconds"],
                         "graph_batch": g.get("graph_batch", 0), "graph_kernels": g.get("graph_kernels", 0),
                         "torch_seconds": peer.get(point)})
    print(f"{'shape':14} {'decode point':26} {'graphs ms':>10} {'of floor':>9} {'eager ms':>9} "
          f"{'of floor':>9} {'speed-up':>9} {'kernels':>8} {'torch ms':>9}")
    for r in rows:
        def ratio(t, fl):
            return f"{100 * fl / t:8.1f}%" if fl else "        -"
        torch_ms = f"{r['torch_seconds'] * 1e3:9.3f}" if r["torch_seconds"] else "        -"
        print(f"{r['shape']:14} {r['point']:26} {r['graphs_seconds'] * 1e3:10.3f} "
              f"{ratio(r['graphs_seconds'], r['graphs_floor_seconds'])} {r['eager_seconds'] * 1e3:9.3f} "
              f"{ratio(r['eager_seconds'], r['eager_floor_seconds'])} "
              f"{r['eager_seconds'] / r['graphs_seconds']:8.2f}x {r['graph_kernels']:8d} {torch_ms}")
    with open(os.path.join(out, "graphs-vs-eager.json"), "w") as f:
        json.dump({"rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
