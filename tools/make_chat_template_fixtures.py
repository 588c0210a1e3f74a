#!/usr/bin/env python3
"""Renders the chat-template parity fixtures with Python jinja2, configured the way
transformers' apply_chat_template configures it, so that the C++ interpreter
(engine/tokenizer/chat_template) can be held to byte-identical output.

  python3 tools/make_chat_template_fixtures.py      # rewrites tests/fixtures/chat_templates/cases.json

Inputs: tests/fixtures/chat_templates/templates/*.jinja (our own templates, written to
use the constructs of each model family's published template) and the demo model's
template (models/pdserve-demo/tokenizer_config.json, case template "@demo").
Output: cases.json, a list of {"template", "name", "context", and "expected" (the render)
or "error" ({"raise_exception": bool, "message": str})}.
strftime_now sees a fixed clock (NOW_UNIX_SECONDS, TZ=UTC), which the C++ test also uses.
"""
import copy
import json
import os
import pathlib
import time
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "chat_templates"
NOW_UNIX_SECONDS = 1737000000  # 2025-01-16 04:00:00 UTC

os.environ["TZ"] = "UTC"
time.tzset()


class RaisedException(jinja2.exceptions.TemplateError):
    pass


class AssistantTracker(Extension):
    """transformers' {% generation %} tag when no assistant mask is requested: the body, rendered
    as a caller() block (its own scope)."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    def _generation_support(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise RaisedException(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                          sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.fromtimestamp(NOW_UNIX_SECONDS).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "City name, e.g. Zürich"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "add", "description": "Adds two numbers.",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number", "default": 1.5}},
            "required": ["a", "b"]}, "return": {"type": "number"}}},
]

SYSTEM = {"role": "system", "content": "You are a concise assistant."}
CONVERSATIONS = {
    "single_user": [{"role": "user", "content": "Hello!"}],
    "system_user": [SYSTEM, {"role": "user", "content": "What is 2+2?"}],
    "multi_turn": [
        SYSTEM,
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "  Tell me a joke.\n"},
    ],
    "tool_calls": [
        SYSTEM,
        {"role": "user", "content": "Weather in Zürich?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call12345", "type": "function",
             "function": {"name": "get_weather", "arguments": {"city": "Zürich", "unit": "celsius"}}}]},
        {"role": "tool", "tool_call_id": "call12345", "content": "{\"temp\": 21.5, \"sky\": \"clear\"}"},
        {"role": "assistant", "content": "It is 21.5 °C and clear."},
    ],
    "tool_calls_string_args": [
        {"role": "user", "content": "Add 2 and 3, then 4 and 5"},
        {"role": "assistant", "content": "Calling tools.", "tool_calls": [
            {"id": "abcdefghi", "type": "function",
             "function": {"name": "add", "arguments": "{\"a\": 2, \"b\": 3}"}},
            {"id": "jklmnopqr", "type": "function",
             "function": {"name": "add", "arguments": "{\"a\": 4, \"b\": 5}"}}]},
        {"role": "tool", "tool_call_id": "abcdefghi", "content": "5"},
        {"role": "tool", "tool_call_id": "jklmnopqr", "content": "9"},
        {"role": "user", "content": "<response>\n9\n</response>"},
    ],
    "reasoning": [
        {"role": "user", "content": "Is 17 prime?"},
        {"role": "assistant", "content": "<think>\nCheck divisors up to 4.\n</think>\n\nYes, 17 is prime."},
        {"role": "user", "content": "And 21?"},
        {"role": "assistant", "content": "No: 3 × 7.", "reasoning_content": "21 = 3 * 7"},
    ],
    "not_alternating": [
        {"role": "user", "content": "one"},
        {"role": "user", "content": "two"},
    ],
    "bad_role": [{"role": "narrator", "content": "Once upon a time"}],
    "unicode_and_quotes": [
        {"role": "user", "content": "Quote: \"hi\" and 'yo' \\ back\tslash — emoji 🚀 中文"},
        {"role": "assistant", "content": "Ça va? {{ not a tag }} {% neither %}"},
        {"role": "user", "content": "line1\nline2\r\nline3"},
    ],
    "multimodal": [
        {"role": "system", "content": [{"type": "text", "text": "Describe images."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " What is this? "}]},
    ],
    "empty": [],
}

TOKENS = {
    "llama3_like": {"bos_token": "<|begin|>", "eos_token": "<|eot|>"},
    "qwen25_like": {"bos_token": None, "eos_token": "<|end|>"},
    "qwen3_like": {"bos_token": None, "eos_token": "<|end|>"},
    "mistral_like": {"bos_token": "<s>", "eos_token": "</s>"},
    "gemma_like": {"bos_token": "<bos>", "eos_token": "<eos>"},
    "phi_like": {"bos_token": "<s>", "eos_token": "<|endoftext|>"},
    "deepseek_like": {"bos_token": "<|bos|>", "eos_token": "<|eos|>"},
    "granite_like": {"bos_token": "<|end_of_text|>", "eos_token": "<|end_of_text|>"},
    "kitchen_sink": {"bos_token": "<s>", "eos_token": "</s>"},
    "@demo": {"bos_token": "<|endoftext|>", "eos_token": "<|end|>"},
}

# Extra keyword arguments (apply_chat_template(**kwargs)) per template.
EXTRA = {
    "qwen3_like": [{}, {"enable_thinking": False}],
    "granite_like": [{}, {"thinking": True, "controls": {"length": "short", "citations": True}}],
    "kitchen_sink": [{}, {"user_name": "ada lovelace", "extra_flag": 1}],
}
WITH_TOOLS = {"llama3_like", "qwen25_like", "qwen3_like", "mistral_like", "granite_like"}
DOCUMENTS = [{"doc_id": 7, "text": "Granite is an igneous rock."}]


def load_templates():
    templates = {p.stem: p.read_text() for p in sorted((FIXTURES / "templates").glob("*.jinja"))}
    demo_cfg = json.loads((ROOT / "models" / "pdserve-demo" / "tokenizer_config.json").read_text())
    templates["@demo"] = demo_cfg["chat_template"]
    return templates


def render(env, source, context):
    try:
        return {"expected": env.from_string(source).render(**copy.deepcopy(context))}
    except RaisedException as e:
        return {"error": {"raise_exception": True, "message": str(e)}}
    except Exception as e:  # noqa: BLE001 - any failure is an expected error for the C++ side
        return {"error": {"raise_exception": False, "message": f"{type(e).__name__}: {e}"}}


def main():
    env = make_env()
    cases = []
    for tname, source in load_templates().items():
        for cname, messages in CONVERSATIONS.items():
            tool_variants = [None, TOOLS] if tname in WITH_TOOLS and cname.startswith("tool") else [None]
            doc_variants = [None, DOCUMENTS] if tname == "granite_like" and cname == "system_user" else [None]
            for tools in tool_variants:
                for documents in doc_variants:
                    for extra in EXTRA.get(tname, [{}]):
                        for agp in (False, True):
                            context = {"messages": messages, "tools": tools, "documents": documents,
                                       "add_generation_prompt": agp, **TOKENS[tname], **extra}
                            name = cname + ("+tools" if tools else "") + ("+docs" if documents else "")
                            name += "".join(f"+{k}" for k in extra) + ("+gen" if agp else "")
                            case = {"template": tname, "name": name, "context": context}
                            case.update(render(env, source, context))
                            cases.append(case)
    out = FIXTURES / "cases.json"
    out.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {len(cases)} cases ({errors} expected errors) to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
