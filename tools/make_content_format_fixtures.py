#!/usr/bin/env python3
"""Renders the content-format parity fixtures with Python jinja2: for each template in
tests/fixtures/chat_templates/content_format/ (written in the style of published templates,
some looping over content parts), the content format vLLM's `--chat-template-content-format
auto` detects, and for each request conversation and each format (auto, string, openai) the
prompt jinja2 renders from the messages as vLLM shapes them for that format.

  python3 tools/make_content_format_fixtures.py   # rewrites .../content_format/*.json

It also writes detected.json: the format detected for the other parity templates
(tests/fixtures/chat_templates/templates/) and the demo model's.

The C++ side (tests/router/content_format_parity_test.cpp) parses each conversation as a
request body, renders it through the router (ServedModel::render_chat) and must print the same
bytes, or fail where Python failed. Detection is vLLM's _detect_content_format on jinja2's
syntax tree, with the two additions the router makes (tokenizer/chat_template/content_format.h):
a loop over a name set from a message's content, and content indexed by an integer.
"""
import json
import pathlib

from jinja2 import nodes

from make_chat_template_fixtures import make_env, render

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIR = ROOT / "tests" / "fixtures" / "chat_templates" / "content_format"
TOKENS = {"bos_token": "<s>", "eos_token": "</s>"}

# Request messages as a client sends them (OpenAI's shapes).
CONVERSATIONS = {
    "strings": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "  Hello there  "},
    ],
    "parts": [
        {"role": "system", "content": [{"type": "text", "text": "Describe things."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is"},
                                     {"type": "text", "text": ""},
                                     {"type": "text", "text": " this? "}]},
    ],
    "mixed_turns": [
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": [{"type": "text", "text": "An answer"},
                                          {"type": "refusal", "refusal": "and a refusal"}]},
        {"role": "user", "content": [{"type": "text", "text": "Second"}, {"type": "text", "text": "question"}]},
        {"role": "assistant", "content": None},
        {"role": "user", "content": "Third"},
    ],
}


def peel(n):
    """The value under filters, tests and slices (vLLM's _is_var_or_elems_access)."""
    while ((isinstance(n, (nodes.Filter, nodes.Test)) and n.node is not None)
           or (isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Slice))):
        n = n.node
    return n


def is_name_in(n, names):
    return isinstance(n, nodes.Name) and n.name in names


def is_int(n):
    return isinstance(n, nodes.Const) and type(n.value) is int


def detect(source):
    ast = make_env().parse(source)
    assigns = [(a.target.name, peel(a.node)) for a in ast.find_all(nodes.Assign)
               if isinstance(a.target, nodes.Name)]

    def close(names):
        grew = True
        while grew:
            grew = False
            for target, rhs in assigns:
                if target not in names and is_name_in(rhs, names):
                    names.add(target)
                    grew = True
        return names

    messages = close({"messages"})
    fors = list(ast.find_all(nodes.For))
    message_vars = {f.target.name for f in fors
                    if isinstance(f.target, nodes.Name) and is_name_in(peel(f.iter), messages)}

    def is_message(n):
        return is_name_in(n, message_vars) or (
            isinstance(n, nodes.Getitem) and is_int(n.arg) and is_name_in(peel(n.node), messages))

    def is_content_of_message(p):
        if isinstance(p, nodes.Getattr):
            return p.attr == "content" and is_message(p.node)
        return (isinstance(p, nodes.Getitem) and isinstance(p.arg, nodes.Const)
                and p.arg.value == "content" and is_message(p.node))

    contents = close({target for target, rhs in assigns if is_content_of_message(rhs)})

    def is_content(n):
        p = peel(n)
        return is_content_of_message(p) or is_name_in(p, contents)

    if any(is_content(f.iter) for f in fors):
        return "openai"
    if any(is_int(g.arg) and is_content(g.node) for g in ast.find_all(nodes.Getitem)):
        return "openai"
    return "string"


def vllm_messages(request, fmt):
    """The messages vLLM gives the template in `fmt` (chat_utils._parse_chat_message_content)."""
    out = []
    for m in request:
        content = m.get("content")
        parts = [] if content is None else (
            [{"type": "text", "text": content}] if isinstance(content, str) else content)
        texts = [p["text"] if p["type"] == "text" else p["refusal"] for p in parts]
        if fmt == "openai":
            shaped = [{"type": "text", "text": t} for t in texts]
        else:
            shaped = "\n".join(t for t in texts if t)
        out.append({"role": m["role"], "content": shaped})
    return out


def main():
    env = make_env()
    cases = []
    for path in sorted(DIR.glob("*.jinja")):
        source = path.read_text()
        detected = detect(source)
        for cname, request in CONVERSATIONS.items():
            for fmt in ("auto", "string", "openai"):
                effective = detected if fmt == "auto" else fmt
                context = {"messages": vllm_messages(request, effective), "tools": None,
                           "documents": None, "add_generation_prompt": True, **TOKENS}
                case = {"template": path.stem, "detected": detected, "format": fmt,
                        "conversation": cname, "messages": request, "special_tokens": TOKENS}
                case.update(render(env, source, context))
                cases.append(case)
    out = DIR / "cases.json"
    out.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    # The format of every other template the parity tests render (paths from the root).
    detected = {str(p.relative_to(ROOT)): detect(p.read_text())
                for p in sorted((DIR.parent / "templates").glob("*.jinja"))}
    demo = json.loads((ROOT / "models" / "pdserve-demo" / "tokenizer_config.json").read_text())
    detected["models/pdserve-demo/tokenizer_config.json"] = detect(demo["chat_template"])
    (DIR / "detected.json").write_text(json.dumps(detected, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out.relative_to(ROOT)}; detected elsewhere: {detected}")


if __name__ == "__main__":
    main()
