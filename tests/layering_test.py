#!/usr/bin/env python3
"""The house's floors, checked: every `#include` of the product's code against
the dependency rules of DESIGN.md ("Dependency rules", "The house").

  python3 tests/layering_test.py [SOURCE_DIR]    checks the tree; one line per violation
  python3 tests/layering_test.py --self-test     plants violations, expects each one caught

A file belongs to the room named by the longest prefix of its path in ROOMS;
a quoted include names a file by its path from the source root and belongs to
a room the same way. Rooms that DESIGN.md calls std-only may include no
third-party header (<boost/...>, <nlohmann/...>, ...). tests/ and tools/ are
not layered (tests cross floors on purpose). Exits 1 on any violation.
"""
import os
import re
import sys

# room -> the rooms its files may include (besides its own).
COMMON_BELOW_SERVER = {"common/base", "common/protocol", "common/json", "common/wire"}
ROOMS = {
    "common/base": set(),
    "common/protocol": {"common/base"},
    # The one typed JSON reader (nlohmann underneath), for every floor that reads JSON.
    "common/json": {"common/base"},
    "common/wire": {"common/base", "common/protocol", "common/json"},
    "common/server": COMMON_BELOW_SERVER,
    # structured/ takes the vocabulary as data: it knows no tokenizer.
    "structured": {"common/base", "common/protocol", "common/json"},
    "tokenizer": {"common/base", "common/json"},
    # No HTTP, processes, tokenizers or transfer.
    "engine": {"common/base", "common/protocol", "common/json", "structured"},
    # Bytes and regions: no models, tokens or HTTP.
    "kvtransfer": {"common/base"},
    "worker": {"engine", "kvtransfer", "structured", "common/server"} | COMMON_BELOW_SERVER,
    "prefill_worker": {"worker", "engine", "kvtransfer", "structured", "common/server"}
    | COMMON_BELOW_SERVER,
    "decode_worker": {"worker", "engine", "kvtransfer", "structured", "common/server"}
    | COMMON_BELOW_SERVER,
    "router": {"tokenizer", "structured", "common/server"} | COMMON_BELOW_SERVER,
    "launcher": {"common/server"} | COMMON_BELOW_SERVER,
    "bench": {"tokenizer", "common/server"} | COMMON_BELOW_SERVER,
}
# The binary wires every floor; it is above them all.
ROOMS["cli"] = set(ROOMS) - {"cli"}
STD_ONLY = {"common/base", "common/protocol"}
UNLAYERED = ("tests/", "tools/", "models/", "deploy/", "docs/", "scripts/", "cmake/")
SOURCE_EXT = (".h", ".cpp", ".cu", ".cuh", ".inc")
THIRD_PARTY = re.compile(
    r"^(boost|nlohmann|prometheus|CLI|ucp|ucs|uct|cuda|cublas|cub|nccl|pcre2|gtest|gmock)\b")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def room_of(path):
    best = None
    for room in ROOMS:
        if path == room or path.startswith(room + "/"):
            if best is None or len(room) > len(best):
                best = room
    return best


def violations(files):
    """files: {path from the source root: text}. Returns one line per violation."""
    out = []
    for path, text in sorted(files.items()):
        if path.startswith(UNLAYERED):
            continue
        room = room_of(path)
        if room is None:
            out.append(f"{path}: in no room of the house (add it to DESIGN.md and ROOMS)")
            continue
        for m in INCLUDE.finditer(text):
            kind, target = m.group(1), m.group(2)
            line = text.count("\n", 0, m.start()) + 1
            if kind == "<":
                if room in STD_ONLY and THIRD_PARTY.match(target):
                    out.append(f"{path}:{line}: {room}/ is std-only, includes <{target}>")
                continue
            to = room_of(target)
            if to is None or to == room or to in ROOMS[room]:
                continue
            out.append(f"{path}:{line}: {room}/ may not include {to}/ (\"{target}\")")
    return out


def read_tree(root):
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if not d.startswith((".", "build")) and d != "node_modules"]
        for name in filenames:
            if name.endswith(SOURCE_EXT):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    files[rel] = f.read()
    return files


def self_test():
    clean = {
        "engine/kv/pool.cpp": '#include "engine/kv/pool.h"\n#include "common/base/status.h"\n',
        "router/handler.cpp": '#include "tokenizer/tokenizer.h"\n#include "common/wire/x.h"\n',
        "worker/runtime.cpp": '#include "engine/engine.h"\n#include "kvtransfer/agent.h"\n',
        "tests/engine/x_test.cpp": '#include "common/server/http_server.h"\n',
        "common/base/status.h": "#include <string>\n#include <unistd.h>\n",
    }
    planted = {
        "engine/runner/bad.cpp": '#include "common/server/http_server.h"\n',
        "engine/bad_tok.cpp": '#include "tokenizer/tokenizer.h"\n',
        "engine/bad_kv.cpp": '#include "kvtransfer/agent.h"\n',
        "kvtransfer/bad.cpp": '#include "engine/model/model_config.h"\n',
        "kvtransfer/bad_tokens.cpp": '#include "common/protocol/sampling_params.h"\n',
        "common/wire/bad.h": '#include "engine/runner/model_runner.h"\n',
        "common/server/bad.cpp": '#include "worker/worker_runtime.h"\n',
        "common/protocol/bad.h": "#include <nlohmann/json.hpp>\n",
        "common/base/bad.cpp": '#include "common/protocol/block_hash.h"\n',
        "common/json/bad.cpp": '#include "common/wire/internal_api.h"\n',
        "engine/model/bad_wire.cpp": '#include "common/wire/http_message.h"\n',
        "router/bad.cpp": '#include "engine/kv/block_pool.h"\n',
        "router/bad_kv.cpp": '#include "kvtransfer/agent.h"\n',
        "tokenizer/bad.cpp": '#include "router/openai_request.h"\n',
        "decode_worker/bad.cpp": '#include "prefill_worker/prefill_service.h"\n',
        "nowhere/x.cpp": "",
    }
    failures = []
    if violations(clean):
        failures.append(f"clean tree reported: {violations(clean)}")
    for path, text in planted.items():
        found = violations({**clean, path: text})
        if len(found) != 1 or not found[0].startswith(path):
            failures.append(f"planted {path} ({text.strip()!r}) reported as {found}")
    for f in failures:
        print("self-test:", f)
    print(f"self-test: {len(planted)} planted violations, {len(failures)} missed")
    return 1 if failures else 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    found = violations(read_tree(root))
    for v in found:
        print(v)
    print(f"layering: {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
