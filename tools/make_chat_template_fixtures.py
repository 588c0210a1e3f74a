#!/usr/bin/env python3
"""Renders the chat-template parity fixtures with Python jinja2, configured the way
transformers' apply_chat_template configures it, so that the C++ interpreter
(tokenizer/chat_template) can be held to byte-identical output.

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
    # Key order that is not alphabetical, in object arguments and in a string
    # (left as the string transformers passes through).
    "tool_calls_key_order": [
        {"role": "user", "content": "Weather in Zürich, then add 3 and 2?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"type": "function", "id": "call67890",
             "function": {"arguments": {"unit": "celsius", "city": "Zürich"}, "name": "get_weather"}},
            {"type": "function", "id": "call13579",
             "function": {"name": "add", "arguments": "{\"b\": 2, \"a\": 3}"}}]},
        {"role": "tool", "tool_call_id": "call67890", "content": "{\"sky\": \"clear\", \"temp\": 21.5}"},
        {"role": "tool", "tool_call_id": "call13579", "content": "5"},
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

# One-line templates for semantics the family templates do not reach (rendered over a
# small fixed context); kept here rather than in templates/ because they are tiny.
SNIPPETS = [
    # whitespace control
    "a  {% if true %}\n  b\n  {% endif %}\nc",
    "x\n    {% for i in [1,2] %}\n    {{ i }}\n    {% endfor %}\ny",
    "  {{- 'a' -}}  \n {{ 'b' }} ",
    "{% if true -%}\n\n  a  \n{%- endif %}|",
    "{# c #}\n  {# d #}\nx{#- e -#}  y",
    "a\n{%+ if true %}b{% endif %}\n{% if true +%}\nc{% endif %}",
    "line\n\t{% set x = 1 %}\n{{ x }}\n",
    "{{ 'a' }}\n{{ 'b' }}\n\n",
    "a\r\nb\r\n{% if true %}\r\nc{% endif %}",
    "{% raw %}{{ x }}{% endraw %}\n{%- raw -%}  {% y %}  {%- endraw %}|",
    "{{ {'a': {'b': 1}} }}",
    # scoping
    "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = x + 1 %}{{ x }}{% endfor %}{{ x }}",
    "{% for i in [1] %}{% set y = 5 %}{% endfor %}{{ y is defined }}",
    "{% if true %}{% set z = 3 %}{% endif %}{{ z }}",
    "{% macro m(a, b=2) %}{{ a }}-{{ b }}-{{ c }}{% endmacro %}{% set c = 9 %}{{ m(1) }} {{ m(1, b=5) }} {{ m(a=7) }}",
    "{% macro m() %}{% set q = 1 %}{{ q }}{% endmacro %}{{ m() }}{{ q is defined }}",
    "{% set ns = namespace(a=1) %}{% for i in [1,2,3] %}{% set ns.a = ns.a * 2 %}{% endfor %}{{ ns.a }}",
    "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}",
    "{% for k, v in {'x': 1, 'y': 2}.items() %}{{ k }}={{ v }};{% endfor %}",
    "{% for k in {'x': 1, 'y': 2} %}{{ k }}{% endfor %}",
    "{% for c in 'héj' %}[{{ c }}]{% endfor %}",
    "{% for i in [] %}x{% else %}empty{% endfor %}",
    "{% for i in [1,2,3,4] if i > 1 %}{{ loop.index }}:{{ i }}/{{ loop.length }} {% endfor %}",
    "{% for i in [1,2,3] %}{{ loop.previtem | default('-') }}{{ loop.nextitem | default('-') }} {% endfor %}",
    "{% for i in [1,2,3] %}{{ loop.cycle('a', 'b') }}{% endfor %}",
    "{% for i in range(3) %}{% for j in range(2) %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}",
    "{% set t = (1, 2) %}{{ t }} {{ t | list }} {{ (1,) }} {{ () }}",
    "{% set x %}  block {{ 1 + 1 }} {% endset %}[{{ x }}]",
    "{% set x | upper %}abc{% endset %}{{ x }}",
    "{% filter upper %}hello {{ 'w' }}{% endfilter %}",
    "{% generation %}{% set g = 1 %}G{% endgeneration %}{{ g is defined }}",
    # printing and numbers
    "{{ 1 }} {{ 1.0 }} {{ -0.0 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789.123 }} {{ 0.0001 }} {{ 1/3 }} {{ 2**0.5 }}",
    "{{ True }} {{ none }} {{ [none, true, 'it''s'] }} {{ ['a\"b', \"c'd\", 'e\\nf'] }} {{ {'a': none} }}",
    "{{ 10 // 3 }} {{ -10 // 3 }} {{ 10 % -3 }} {{ 10.5 // 2 }} {{ 7.5 % 2 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }}",
    "{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ 'a' * 3 }} {{ [1] * 2 }} {{ 3 * 'ab' }}",
    "{{ true + 1 }} {{ 1 == true }} {{ 0 == false }} {{ 1.0 == 1 }} {{ 'a' == 'a' }} {{ [1, 2] == [1, 2] }} {{ none == none }}",
    "{{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }} {{ 2 >= 2 }} {{ 1 != 2 }}",
    "{{ 'a' 'b' }} {{ 'x' ~ 1 ~ 2.0 ~ none ~ true }}",
    "{{ 1 if false }}|{{ 'y' if true else 'n' }}|{{ 'a' if false else 'b' if false else 'c' }}",
    "{{ not true }} {{ not none }} {{ true and 'x' }} {{ false or 'y' }} {{ 0 or '' }} {{ [] or none }}",
    "{{ 'ab' in 'xaby' }} {{ 'z' not in 'abc' }} {{ 1 in [1.0] }} {{ 'a' in {'a': 1} }} {{ 'q' in undefined_v }}",
    # undefined semantics
    "{{ nope }}|{{ nope | length }}|{{ nope is defined }}|{{ nope is undefined }}|{{ nope | default('d') }}|{% for x in nope %}x{% endfor %}|{{ nope ~ 'z' }}",
    "{{ {'a': 1}.b }}|{{ {'a': 1}['b'] }}|{{ [1][5] }}|{{ 'abc'.nope }}|{{ none.x }}",
    "{% if nope %}y{% else %}n{% endif %}{% if not nope %}!{% endif %}{{ nope == nope }}",
    "{{ messages[0].role }} {{ messages[0]['role'] }} {{ messages[-1].content }} {{ messages | length }}",
    # filters
    "{{ '  a b  ' | trim }}|{{ 'xxaxx' | trim('x') }}|{{ 'hello world-foo (bar)' | title }}|{{ 'hELLO' | capitalize }}",
    "{{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ ['b', 'A', 'c'] | sort(case_sensitive=true) }} {{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | list }}",
    "{{ ['a', 'A', 'b', 'a'] | unique | list }} {{ [1, 2, 1] | unique | list }}",
    "{{ {'b': 2, 'A': 1, 'c': 0} | dictsort }} {{ {'b': 2, 'a': 1} | dictsort(by='value', reverse=true) }}",
    "{{ [1, 2, 3] | join }} {{ [1, none, 'x'] | join(', ') }} {{ [{'a': 'x'}, {'a': 'y'}] | join('/', attribute='a') }}",
    "{{ 'abc' | list }} {{ {'a': 1, 'b': 2} | list }} {{ 'abc' | first }} {{ 'abc' | last }} {{ [] | first is defined }}",
    "{{ 'abc' | reverse }} {{ [1, 2, 3] | reverse | list }} {{ 'x' | length }} {{ {'a': 1} | length }}",
    "{{ '3' | int + 1 }} {{ '0x1A' | int(0, 16) }} {{ ' 12 ' | int }} {{ '1_000' | int }} {{ 'abc' | float }} {{ '1e3' | float }} {{ true | int }} {{ none | int }}",
    "{{ 3.14159 | round(3) }} {{ 3.5 | round }} {{ 4.5 | round }} {{ 2.1 | round(method='ceil') }} {{ 2.9 | round(0, 'floor') }} {{ 5 | round }}",
    "{{ {'a': [1, 2.0, 'x', none, true]} | tojson }} {{ 'é\"\\n\\t\\u0001' | tojson }} {{ {'a': 1, 'b': [1, 2]} | tojson(indent=2) }}",
    "{{ {'b': 1, 'a': {}} | tojson(sort_keys=true) }} {{ [[], {}] | tojson(indent=4) }} {{ {'a': 1, 'b': 2} | tojson(separators=(',', ':')) }}",
    "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb' | indent(2, first=true) }}|{{ 'a\\n\\nb' | indent('>', blank=true) }}",
    "{{ 'a-b-a' | replace('a', 'x') }} {{ 'aaa' | replace('a', 'b', 2) }} {{ 'ab' | replace('', '-') }}",
    "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }} {{ [0, 1, '', 'a'] | select | list }}",
    "{{ [{'t': 'a', 'v': 1}, {'t': 'b'}] | selectattr('v') | list }} {{ [{'t': 'a'}, {'t': 'b'}] | selectattr('t', 'eq', 'b') | list }} {{ [{'t': 'a'}, {'t': 'b'}] | rejectattr('t', '==', 'b') | map(attribute='t') | list }}",
    "{{ [{'a': {'b': 1}}, {'a': {}}] | map(attribute='a.b', default=0) | list }} {{ ['a', 'b'] | map('upper') | list }} {{ [[1, 2]] | map(attribute='0') | list }}",
    "{{ [1, 2, 3] | sum }} {{ [{'n': 1}, {'n': 2}] | sum(attribute='n', start=10) }} {{ [1.5, 2] | sum }} {{ [3, 1] | max }} {{ ['b', 'A'] | max }} {{ [] | max is defined }}",
    "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 'x') | list }}",
    "{{ {'a': 1} | items | list }} {{ nope | items | list }} {{ 'x' | string }} {{ 1.5 | string }} {{ none | string }} {{ [1] | string }}",
    "{{ 'a' | d('b') }} {{ none | default('b') }} {{ none | default('b', true) }} {{ 0 | d(5, boolean=true) }}",
    "{{ '<a href=\"x\">&</a>' | e }} {{ 'x' | safe }} {{ -5 | abs }} {{ -2.5 | abs }} {{ 'one  two\\nthree' | wordcount }} {{ 'ab' | center(6) }}|",
    # tests
    "{{ 1 is odd }} {{ 2 is even }} {{ 9 is divisibleby 3 }} {{ 1 is number }} {{ true is number }} {{ 1 is integer }} {{ true is integer }} {{ 1.0 is float }}",
    "{{ 'a' is string }} {{ 1 is string }} {{ {} is mapping }} {{ [] is mapping }} {{ 'x' is iterable }} {{ 1 is iterable }} {{ [] is sequence }} {{ nope is iterable }}",
    "{{ none is none }} {{ 0 is none }} {{ true is true }} {{ 1 is true }} {{ false is false }} {{ true is boolean }} {{ 1 is boolean }} {{ range is callable }}",
    "{{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 3 is gt 2 }} {{ 3 is ge 4 }} {{ 1 is in [1] }} {{ 'a' is equalto 'a' }} {{ 1 is sameas 1 }} {{ none is sameas none }}",
    "{{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'aBc' is lower }} {{ '12' is lower }} {{ 1 is not none }} {{ 'x' is not string }}",
    # methods
    "{{ 'a b  c'.split() }} {{ 'a,b,c'.split(',', 1) }} {{ ' x '.lstrip() }}| {{ ' x '.rstrip() }}| {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ 'abc'.endswith(('x', 'c')) }}",
    "{{ 'Hello'.upper() }} {{ 'Hello'.lower() }} {{ 'hello WORLD'.title() }} {{ 'hELLO'.capitalize() }} {{ 'aXbXc'.replace('X', '-') }} {{ 'abcabc'.find('c') }} {{ 'abcabc'.count('b') }} {{ ','.join(['a', 'b']) }}",
    "{{ 'a\\nb\\r\\nc'.splitlines() }} {{ '12'.isdigit() }} {{ ' '.isspace() }} {{ 'a.b.c'.rsplit('.', 1) }} {{ 'xxabc'.removeprefix('xx') }}",
    "{{ {'a': 1}.get('a') }} {{ {'a': 1}.get('b') }} {{ {'a': 1}.get('b', 2) }} {{ {'a': 1, 'b': 2}.keys() | list }} {{ {'a': 1}.values() | list }} {{ {'a': 1}.items() | list }}",
    "{% set d = {'items': 5} %}{{ d['items'] }} {{ d.items is defined }}",
    # slicing
    "{{ [1, 2, 3, 4, 5][1:4] }} {{ [1, 2, 3][::-1] }} {{ [1, 2, 3][-1:] }} {{ [1, 2, 3][:-1] }} {{ [1, 2, 3, 4, 5][4:0:-2] }} {{ 'hello'[1:] }} {{ 'hello'[::2] }} {{ 'hello'[10:] }}|",
    # builtins
    "{{ range(3) | list }} {{ range(1, 10, 4) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1, b='x') }} {{ namespace(x=1).x }}",
    "{{ strftime_now('%Y-%m-%d %H:%M %A %B %d %b') }}",
    # errors (expected errors)
    "{{ raise_exception('custom failure: ' ~ 42) }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + none }}",
    "{{ nope.attr }}",
    "{{ nope + 1 }}",
    "{{ 1 / 0 }}",
    "{{ 1 // 0 }}",
    "{{ 'a' < 1 }}",
    "{{ none | length }}",
    "{% for x in 5 %}{% endfor %}",
    "{{ 5() }}",
    "{% set x = 1 %}{% set x.y = 2 %}",
    "{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}",
    "{{ nope | tojson }}",
    "{{ 1 in 5 }}",
    "{{ range(200000) | length }}",
    # precedence and mixed expressions
    "{{ 'a' + 'b' | upper }} {{ not nope is defined }} {{ -1 | abs }} {{ 'x' ~ 'y' | upper }} {{ 'p' if false else 'q' | upper }} {{ 1 + 2 | string }}",
    "{{ 'a' if x is defined and x else 'b' }} {{ 1 == 1 == 1 }} {{ 1 < 2 > 1 }} {{ true and none }} {{ none or 0 }} {{ 'x' * 0 }}|{{ [] * 3 }}",
    "{{ '\u00e9\x41\\n' }} {{ \"tab\\there\" }} {{ 'a\\'b' }} {{ \"q\\\"q\" }} {{ '\\u4e2d' }}",
    "{{ messages[0] }} {{ messages | map(attribute='role') | list }} {{ (messages | last).role }} {{ messages[1:] | length }}",
    "{{ messages | tojson }}",
    "{{ messages[:2] | tojson(indent=1) }}",
    "{{ 100.0 }} {{ 1e100 }} {{ 12345678901234567890.0 }} {{ 5 / 2 * 2 }} {{ 0.1 * 3 }} {{ 1.5e-7 }} {{ -2.5 }} {{ 3 - 3.0 }} {{ 2 ** 62 }}",
    "{{ [1e-7, 1e22, 0.5, -0.0, 3.0] | tojson }} {{ {'f': 2.0} | tojson }}",
    "{% for i in range(3) %}{{ loop.revindex0 }}{{ loop.depth }}{{ loop.depth0 }}{% endfor %} {% set x = [1, 2, 3] %}{{ x[1:][0] }} {{ 'a'.join('bc') }}",
    "{% if false %}a{% elif nope %}b{% elif 1 %}c{% else %}d{% endif %}{% if false %}x{% elif false %}y{% endif %}|",
    "{{ nope is string }} {{ nope | string }}|{{ nope | trim }}|{{ nope | upper }}|{{ nope | list }} {{ nope | join(',') }}| {{ nope | first is defined }}",
    "{{ none | trim }} {{ 5 | upper }} {{ none ~ '' }} {{ [1, 2] | join(',') | length }} {{ 'abc' | batch(2) | list }}",
    "{% set d = {'a': 1, 'b': 2, 'a': 3} %}{{ d }} {{ {'a': 1} == {'a': 1} }} {{ {'a': 1} != {'a': 2} }} {{ [1, [2]] == [1, [2]] }}",
    "{% set ns = namespace(a=1, b='x') %}{{ ns }} {{ ns.missing is defined }} {{ ns.a }} {{ ns['b'] }}",
    "{{ x | default(none) is none }} {{ 'They\\'re bill\\'s'.title() }} {{ 'hello-world foo_bar'.title() }} {{ 'hello-world (foo) [bar]' | title }}",
    "{% macro row(cells, sep='|') -%}\n  {%- for c in cells %}{{ c }}{% if not loop.last %}{{ sep }}{% endif %}{% endfor %}\n{%- endmacro %}\n[{{ row([1, 2]) }}]\n[{{ row(['a'], sep=',') }}]\n[{{ row(cells=[]) }}]",
    "{%- for m in messages -%}\n  {%- if m.role == 'user' -%}\n    U: {{ m.content }}\n  {%- else -%}\n    {{ m.role }}\n  {%- endif %}\n{% endfor -%}",
    "{% for m in messages %}\n  {% if loop.first %}\n    first\n  {% endif %}\n  {{ m.role }}\n{% endfor %}\nend",
    "  {% if true %}\n  x\n  {% endif %}  \n  {{ 'y' }}  \n{# comment #}   \n  z",
    "{% set x = 1 %}{% macro show() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ show() }}{% for i in [1] %}{% set x = 3 %}{{ show() }}{% endfor %}",
    "{{ [{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}] | sort(attribute='n') | map(attribute='v') | join }} {{ [{'a': 1}] | map(attribute='b') | list }}",
    "{{ ['x', 'y'] | map('replace', 'x', 'z') | list }} {{ [' a ', 'b '] | map('trim') | join('|') }} {{ [[1, 2], [3]] | map('length') | list }} {{ [1, 2] | map('tojson') | list }}",
    "{{ [1, 2, 3] | select('greaterthan', 1) | list }} {{ [1, 2, 3] | select('in', [1, 3]) | list }} {{ ['a', None, 'b'] | reject('none') | list }} {{ [1, 'a'] | select('string') | list }}",
    "{% for k, v in {'b': 1, 'a': 2} | dictsort %}{{ k }}{{ v }}{% endfor %} {% for item in {'x': [1]} | items %}{{ item[0] }}{{ item[1] }}{% endfor %}",
    "{{ 'a,b;c'.split(';') }} {{ 'a  b'.split(' ') }} {{ ''.split(',') }} {{ ''.split() }} {{ 'aXbXc'.split('X', 1) }} {{ '  a  b '.split(None, 1) }}",
    "{{ 'abc'[0] }}{{ 'abc'[-1] }} {{ [1, 2][-1] }} {{ messages[-1]['role'] }} {{ messages[0].content[0:3] }} {{ 'abc'[1:] ~ 'abc'[:1] }}",
    "{{ 'text'.startswith('') }} {{ ''.endswith('x') }} {{ 'héllo wörld'.upper() }} {{ 'ÀB'.lower() }} {{ 'x'.replace('', '-') }} {{ 'aaaa'.replace('a', 'b', 2) }}",
    "{% set content = '<think>\\nreasoning here\\n</think>\\n\\nanswer' %}{{ content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}|{{ content.split('</think>')[-1].lstrip('\\n') }}",
    "{{ 3 in range(5) }} {{ range(3)[1] }} {{ range(10)[2:5] | list }} {{ range(0) | list }} {{ range(3) | reverse | list }} {{ range(3) | sum }}",
    "{{ {'b': {'y': 1, 'x': [3, {'k': none}]}, 'a': 'é'} | tojson(indent=2, sort_keys=true) }}",
    "{{ {'a': 'line\\nnext', 'ctl': '\\u0007\\u001f', 'q': '\"', 'bs': '\\\\', 'emoji': '🚀'} | tojson }}",
    "{{ [1, 2] | tojson(indent='\\t') }} {{ {'a': [1, 2]} | tojson(indent=0) }} {{ {'a': 1} | tojson(separators=(', ', ' = ')) }}",
    "{{ {'k': 'é中🚀'} | tojson(ensure_ascii=true) }} {{ 'ü' | tojson(true) }} {{ ['a'] | tojson(ensure_ascii=false) }}",
    "{{ messages | selectattr('role', 'ne', 'system') | map(attribute='content') | map('trim') | join(' / ') }} {{ messages | map(attribute='role') | select('in', ['user']) | list | count }}",
    "{% for m in messages %}{% set outer = loop %}{% for c in m.role %}{% if loop.first %}{{ outer.index }}{{ c }}{% endif %}{% endfor %}{% endfor %}",
    "{%- set tools = nope_tools | default([]) -%}{{ tools | length }} {{ (tools | first) is defined }} {{ messages | first | attr('role') }} {{ messages | last | attr('nope') is defined }}",
    "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ s | default('x') }}{% endcall %}",
    "{% macro each(items, sep=',') %}{% for i in items %}{{ caller(i, loop.index) }}{% if not loop.last %}{{ sep }}{% endif %}{% endfor %}{% endmacro %}{% call(x, n) each([1, 2], sep=';') %}[{{ n }}:{{ x }}]{% endcall %}",
    "{% macro m() %}{{ caller is defined }}{% endmacro %}{{ m() }}",
    # more errors
    "{{ 1 > none }}",
    "{{ nope.x | default('d') }}",
    "{{ messages[0].content.nope() }}",
    "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
    "{{ 'abc' | int(base=40) }} ok",
    "{{ [1, 'a'] | sort }}",
    "{{ {'a': 1} | join(',') }} {{ 5 | join }}",
    "{{ nope | attr('x') }}",
    "{{ 'x'.split('') }}",
    "{{ {}['missing'].x }}",
    "{{ -none }}",
    "{{ [1, 2] + (3,) }}",
    "{{ 'abc'[1.5] }}",
    "{{ namespace(a=1).a.b.c }}",
    "{% macro m() %}{% endmacro %}{{ m(x=1) }}",
]


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
    snippet_context = {"messages": CONVERSATIONS["multi_turn"], "add_generation_prompt": False,
                       "bos_token": "<s>", "eos_token": "</s>"}
    for i, source in enumerate(SNIPPETS):
        case = {"template": "", "source": source, "name": f"snippet{i}", "context": snippet_context}
        case.update(render(env, source, snippet_context))
        cases.append(case)
    out = FIXTURES / "cases.json"
    out.write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")
    errors = sum(1 for c in cases if "error" in c)
    print(f"wrote {len(cases)} cases ({errors} expected errors) to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
