#!/usr/bin/env python3
"""Every C++/CUDA source of the tree is clang-formatted (.clang-format at the root).

  python3 tests/format_test.py CLANG_FORMAT [SOURCE_DIR]

Runs `CLANG_FORMAT --dry-run -Werror` over every .h/.cpp/.cu/.cuh/.inc file
(build directories, node_modules and hidden directories left out) and exits 1
naming each file it would change. Fix with `clang-format -i FILE`.
"""
import os
import subprocess
import sys

SOURCE_EXT = (".h", ".cpp", ".cu", ".cuh", ".inc")
BATCH = 64


def sources(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith((".", "build")) and d != "node_modules")
        out += [os.path.join(dirpath, n) for n in sorted(filenames) if n.endswith(SOURCE_EXT)]
    return out


def main(argv):
    if len(argv) < 2:
        print("usage: format_test.py CLANG_FORMAT [SOURCE_DIR]")
        return 2
    clang_format = argv[1]
    root = argv[2] if len(argv) > 2 else os.path.join(os.path.dirname(__file__), "..")
    files = sources(root)
    bad = set()
    for i in range(0, len(files), BATCH):
        batch = files[i:i + BATCH]
        try:
            run = subprocess.run([clang_format, "--dry-run", "-Werror", *batch],
                                 capture_output=True, text=True)
        except OSError as e:
            print(f"format: cannot run {clang_format}: {e}")
            return 1
        if run.returncode != 0:
            bad |= {f for f in batch if f + ":" in run.stderr}
            if not bad:
                print(run.stderr.strip())
                return 1
    for f in sorted(bad):
        print(f"{os.path.relpath(f, root)}: not clang-formatted (clang-format -i {f})")
    print(f"format: {len(files)} files, {len(bad)} not formatted")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
