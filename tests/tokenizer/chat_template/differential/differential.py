#!/usr/bin/env python3
"""Differential testing of the C++ chat-template interpreter against Python jinja2 (configured
as transformers configures it, see tools/make_chat_template_fixtures.py) on random templates:
random expressions over a small context, and random statement/whitespace-control soups.

  cmake --build build --target chat_template_render_batch
  python3 tests/tokenizer/chat_template/differential/differential.py build/tests/tokenizer/chat_template/chat_template_render_batch [SEED]

Prints each mismatch (up to 10 per kind) and a count. Known divergences (README.md): printf-style
'%' is refused, Markup reprs, tuple subscripts, names like `not(...)` parsed as calls.
"""
import copy
import json
import pathlib
import random
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[5]
sys.path.insert(0, str(ROOT / "tools"))
import make_chat_template_fixtures as m  # noqa: E402


def expression_templates(n):
    ctx = {"messages": m.CONVERSATIONS["tool_calls"], "tools": m.TOOLS, "n": 3, "f": 2.5,
           "s": "Hello World", "e": "", "l": [3, 1, 2], "d": {"b": 1, "a": [1, 2]}, "t": True, "z": None}
    atoms = ["n", "f", "s", "e", "l", "d", "t", "z", "nope", "1", "0", "-2", "2.0", "0.5", "'ab'", "'x y'", "''", "[1, 2]", "[]", "{'k': 1}", "none", "true", "false",
             "messages[0]", "messages[1].content", "messages[2].tool_calls", "messages[-1]['role']", "tools[0].function.name", "d.a", "d['b']", "l[0]", "s[1:3]", "l[::-1]"]
    binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">=", "and", "or", "in", "not in"]
    filters = ["length", "string", "upper", "lower", "trim", "first", "last", "list", "tojson", "join(',')", "default('D')", "int", "float", "abs", "reverse | list", "sort | list", "unique | list", "title", "capitalize", "items | list", "d(1, true)", "tojson(indent=2)", "replace('l', 'L')", "batch(2) | list", "sum", "max", "min", "count", "round(1)", "indent(2)", "wordcount", "e"]
    tests = ["defined", "undefined", "none", "string", "number", "mapping", "iterable", "sequence", "true", "false", "boolean", "integer", "float", "odd", "even", "lower", "upper", "eq 1", "in [1, 2]"]
    methods = [".upper()", ".lower()", ".strip()", ".split()", ".split('l')", ".startswith('H')", ".endswith('d')", ".replace('o', '0')", ".title()", ".items() | list", ".keys() | list", ".get('a')", ".get('x', 5)"]
    def expr(d=0):
        r = random.random()
        if d > 3 or r < 0.3: return random.choice(atoms)
        if r < 0.5: return f"({expr(d+1)} {random.choice(binops)} {expr(d+1)})"
        if r < 0.65: return f"{expr(d+1)} | {random.choice(filters)}"
        if r < 0.75: return f"({expr(d+1)} is {'not ' if random.random()<0.3 else ''}{random.choice(tests)})"
        if r < 0.85: return f"({expr(d+1)}){random.choice(methods)}"
        if r < 0.92: return f"({expr(d+1)} if {expr(d+1)} else {expr(d+1)})"
        return f"not {expr(d+1)}"
    temps = ["{{ " + expr() + " }}" for _ in range(n)]
    temps += ["{% for x in " + expr() + " %}{{ loop.index }}:{{ x }};{% else %}E{% endfor %}" for _ in range(n // 6)]
    return ctx, temps


def statement_templates(n):
    ctx = {"messages": m.CONVERSATIONS["multi_turn"], "n": 3, "s": "Hi", "l": [3, 1, 2], "d": {"b": 1, "a": 2},
           "add_generation_prompt": True}
    ws = ["", " ", "\n", "  \n", "\n  ", "\t", "\n\n", " \n \t"]
    def open_(k): return "{" + k + random.choice(["", "", "-", "+"]) if k != "{" else "{{" + random.choice(["", "", "-"])
    def close(k): return random.choice(["", "", "-", "+"]) + k + "}" if k != "}" else random.choice(["", "", "-"]) + "}}"
    def tag(body): return open_("%") + " " + body + " " + close("%")
    def out(e): return open_("{") + " " + e + " " + close("}")
    def comment(): return "{#" + random.choice(["", "-"]) + " c " + random.choice(["", "-"]) + "#}"
    exprs = ["n", "s", "l", "d", "loop.index", "loop.first", "x", "m.role", "ns.v", "y", "s ~ n", "l | length", "m['content'] | trim", "d.items() | list"]
    def block(depth=0):
        parts = []
        for _ in range(random.randint(1, 4)):
            r = random.random()
            w = random.choice(ws)
            if r < 0.25 or depth > 2:
                parts.append(w + random.choice(["txt", "A", " B ", "line\nnext"]) + random.choice(ws))
            elif r < 0.45:
                parts.append(w + out(random.choice(exprs)) + random.choice(ws))
            elif r < 0.55:
                parts.append(w + comment() + random.choice(ws))
            elif r < 0.7:
                parts.append(w + tag("if " + random.choice(["n > 2", "x", "loop.last", "not s", "m.role == 'user'"])) + block(depth+1) + (tag("else") + block(depth+1) if random.random() < 0.5 else "") + tag("endif") + random.choice(ws))
            elif r < 0.85:
                parts.append(w + tag("for " + random.choice(["x in l", "m in messages", "k, v in d.items()", "x in l if x > 1"])) + block(depth+1) + tag("endfor") + random.choice(ws))
            elif r < 0.95:
                parts.append(w + tag("set " + random.choice(["y = n + 1", "x = s", "ns.v = ns.v + 1", "y = l[::-1]"])) + random.choice(ws))
            else:
                parts.append(w + tag("macro mac(a, b=2)") + out("a ~ b") + tag("endmacro") + out("mac(1)") + random.choice(ws))
        return "".join(parts)
    return ctx, [tag("set ns = namespace(v=0)") + block() for _ in range(n)]


def compare(binary, env, ctx, temps, label):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"context": ctx, "templates": temps}, f)
    res = json.loads(subprocess.run([binary, f.name], capture_output=True, text=True, check=True).stdout)
    bad = 0
    for t, r in zip(temps, res):
        try:
            py = {"out": env.from_string(t).render(**copy.deepcopy(ctx))}
        except Exception as ex:  # noqa: BLE001
            py = {"error": f"{type(ex).__name__}: {ex}"}
        if ("out" in py) != ("out" in r) or py.get("out") != r.get("out"):
            bad += 1
            if bad <= 10:
                print(repr(t), "\n   jinja2:", repr(py), "\n   c++:   ", repr(r))
    print(f"{label}: {bad} mismatches of {len(temps)}")
    return bad


def main():
    binary = sys.argv[1]
    random.seed(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    env = m.make_env()
    compare(binary, env, *expression_templates(3000), "expressions")
    compare(binary, env, *statement_templates(3000), "statements")


if __name__ == "__main__":
    main()
