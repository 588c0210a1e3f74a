#!/usr/bin/env python3
"""Write the Hugging Face `tokenizers` reference fixtures that pdserve's
tokenizer (tokenizer/) is checked against, id for id.

Needs python3 and the `tokenizers` library only (no network). Deterministic:
the corpus comes from a fixed seed, and the tokenizers are trained on a second
corpus from another fixed seed (so the test text holds pieces the training did
not see).

  python3 tools/make_tokenizer_fixtures.py --out tests/fixtures/tokenizers \
      --demo models/pdserve-demo/tokenizer.json

Writes:
  <out>/corpus.jsonl                one JSON string per line: the test cases
  <out>/<name>/tokenizer.json       for name in llama3, qwen2, llama2, metaspace, demo, and
                                    (over the first EXTRA_CASES cases only) gpt2_prefix
                                    (ByteLevel add_prefix_space) and mixed (NFKC, Replace
                                    regex, Strip, Whitespace, Digits, Split, BertProcessing)
  <out>/<name>/expected.jsonl       one JSON object per case:
      {"text": ..., "ids": [...]            encode(text, add_special_tokens=True)
       "ids_no_special": [...],             encode(text, add_special_tokens=False)
       "ids_split": [...],                  only when it differs from "ids": the same
                                            with encode_special_tokens=True
       "decoded": ...,                      decode(ids, skip_special_tokens=False);
                                            absent when equal to "text"
       "decoded_skip": ...}                 decode(ids, skip_special_tokens=True);
                                            absent when equal to the "decoded" value
  (the omissions keep the fixtures near 3 MB)
"""

import argparse
import collections
import json
import os
import random
import sys

CORPUS_SEED = 20261204
TRAIN_SEED = 777
CORPUS_BYTES = 105_000
TRAIN_BYTES = 400_000
EXTRA_CASES = 250

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+")

WORDS = """the of and to in is was for on that with as by at from his her it an were are which
this be or has had not but they their one all been also its new more after first who when two
other into time would there only can could over some most people about years than out then
state city world long water between under music while school well during where these both
through river system through model token serve prefill decode cache batch request router
worker kernel memory stream block latency throughput engine Quick brown fox jumps lazy dog
Apple Banana Cherry IBM NASA OpenAI DeepSeek Qwen Llama Mistral Gemma don't won't it's we're
they've I'm you'll she'd O'Neil rock'n'roll""".split()

ACCENTED = """café naïve résumé Zürich Ångström façade jalapeño São Paulo Kraków Dvořák
Øresund Ærø straße Ελληνικά Москва Привет мир ąčęėįšųūž İstanbul ıi ǅ ﬁ ﬀ Ⅻ ①②③ ½ ¼
Tiếng Việt Français Español Português Čeština Łódź ĳ""".split()
# Decomposed forms (NFD) so that NFC has something to do.
COMBINING = ["e\u0301", "a\u0308", "o\u0302\u0323", "n\u0303", "A\u030a", "\u1100\u1161\u11a8",
             "c\u0327a", "u\u0308\u0304", "i\u0307", "Z\u030c"]
CJK = ["中文分词测试", "我们今天去公园散步。", "日本語のテキストです", "東京タワー", "ひらがなカタカナ",
       "한국어 문장입니다", "汉字和标点，。！？", "漢字", "中华人民共和国成立于1949年",
       "「引用」『二重』", "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ"]
EMOJI = ["😀", "👍🏽", "❤️", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🧑🏿‍💻", "🇫🇷🇯🇵", "👩‍❤️‍💋‍👨",
         "🤖", "✨", "🔥🔥🔥", "1️⃣", "🫠", "\u200d", "\ufe0f"]
CODE = [
    "def f(x):\n    return x * 2  # doubles\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "#include <vector>\nstd::vector<int> v{1, 2, 3};\n",
    "if (a && b || !c) { throw std::runtime_error(\"bad\"); }",
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;",
    "const x = {a: 1, 'b': [2, 3], \"c\": null};",
    "    \tmixed\t  indent\n\n\n",
    "<html><body class=\"main\">&amp;&lt;&gt;</body></html>",
    "$ ls -la | grep '^d' > out.txt 2>&1",
    "x=1;y=2;z=x+y**2//3%4^5~6",
    "{\"key\": \"value\", \"list\": [1,2,3], \"nested\": {\"a\": true}}",
    "fn main() { println!(\"{:?}\", vec![1u8; 4]); }",
]


def special_tokens_for(name):
    return {
        "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
                   "<|start_header_id|>", "<|end_header_id|>"],
        "qwen2": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        "llama2": ["<unk>", "<s>", "</s>"],
        "metaspace": ["<unk>", "<s>", "</s>"],
        "demo": ["<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"],
    }[name]


ALL_SPECIAL_STRINGS = ["<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
                       "<|endoftext|>", "<|user|>", "<|assistant|>", "<s>", "</s>", "<unk>",
                       "<mask>", "<|fim|>", "[TOOL]", "hello world", "<pad>"]


def sentence(rng):
    n = rng.randint(3, 18)
    words = []
    for _ in range(n):
        r = rng.random()
        if r < 0.72:
            w = rng.choice(WORDS)
        elif r < 0.80:
            w = rng.choice(ACCENTED)
        elif r < 0.83:
            w = rng.choice(COMBINING) + rng.choice(WORDS)
        elif r < 0.88:
            w = str(rng.randint(0, 10 ** rng.randint(1, 12)))
        elif r < 0.91:
            w = rng.choice(EMOJI)
        elif r < 0.94:
            w = rng.choice(CJK)
        else:
            w = rng.choice(WORDS).upper()
        words.append(w)
    s = " ".join(words)
    s = s[0].upper() + s[1:] if s else s
    return s + rng.choice([".", "!", "?", ",", ";", ":", "...", ""])


def case(rng):
    r = rng.random()
    if r < 0.45:
        return " ".join(sentence(rng) for _ in range(rng.randint(1, 4)))
    if r < 0.55:
        return rng.choice(CODE)
    if r < 0.62:  # whitespace runs, tabs and newlines
        parts = []
        for _ in range(rng.randint(2, 6)):
            parts.append(rng.choice(WORDS))
            parts.append(rng.choice([" " * rng.randint(1, 40), "\t" * rng.randint(1, 5),
                                     "\n" * rng.randint(1, 4), " \n ", "\r\n", "\u3000",
                                     "\u00a0", " \t\n"]))
        return "".join(parts)
    if r < 0.68:  # digits and long numbers
        return " ".join(rng.choice([str(rng.randint(0, 10 ** 30)), "3.14159265358979",
                                    "1,000,000", "-42", "0x1F", "2026-12-04", "１２３",
                                    "٣٤٥", "1e-10"]) for _ in range(rng.randint(1, 8)))
    if r < 0.80:  # special-token strings embedded in text
        parts = []
        for _ in range(rng.randint(2, 6)):
            parts.append(rng.choice([sentence(rng), rng.choice(WORDS), " ", "", "\n"]))
            parts.append(rng.choice(ALL_SPECIAL_STRINGS))
            parts.append(rng.choice(["", " ", "  ", "\n", "x", " y"]))
        return "".join(parts)
    if r < 0.86:
        return " ".join(rng.choice(CJK + EMOJI) for _ in range(rng.randint(1, 10)))
    if r < 0.93:
        return "".join(rng.choice(COMBINING + ACCENTED) for _ in range(rng.randint(1, 8)))
    # odd bits of text
    return rng.choice(["", " ", "  ", "\n", "\t", "a", "'s", "'S'LL'd", "...", "▁", "▁▁x",
                       "<0x41>", "<|", "|>", "<s", "s>", "<<s>>", "\\u0000", "\u0000",
                       "\u0001\u0002", "\ufffd", "\U0010ffff", "\u2028\u2029", " '", "' "])


PATHOLOGICAL = [
    "a" * 6000,
    " " * 3000,
    "\n" * 1000,
    "ab" * 1000,
    "1" * 1000,
    "😀" * 200,
    "é" * 500,
    "\t " * 500,
    "x " * 1000,
    "中" * 300,
    "<s>" * 100,
    "<|endoftext|>" * 50,
]


def make_corpus(seed, target_bytes, with_pathological):
    rng = random.Random(seed)
    cases = list(PATHOLOGICAL) if with_pathological else []
    size = sum(len(c.encode()) for c in cases)
    while size < target_bytes:
        c = case(rng)
        cases.append(c)
        size += len(c.encode())
    return cases


def add_extra_tokens(tok, specials, AddedToken):
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tok.add_special_tokens([
        AddedToken("<mask>", special=True, lstrip=True, normalized=False),
        AddedToken("<|fim|>", special=True, rstrip=True, normalized=False),
        AddedToken("[TOOL]", special=True, lstrip=True, rstrip=True, single_word=True,
                   normalized=False),
    ])
    tok.add_tokens([
        AddedToken("hello world", special=False, normalized=True),
        AddedToken("<pad>", special=False, single_word=True, normalized=False),
    ])


def train(name, train_cases):
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                            pre_tokenizers, processors, trainers)

    specials = special_tokens_for(name)
    if name in ("llama3", "qwen2"):
        pattern = LLAMA3_PATTERN if name == "llama3" else QWEN2_PATTERN
        tok = Tokenizer(models.BPE())
        if name == "qwen2":
            tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=2600 if name == "llama3" else 2400,
                                      min_frequency=2, special_tokens=specials,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(train_cases, trainer=trainer)
        add_extra_tokens(tok, [], AddedToken)
        if name == "llama3":
            bos = "<|begin_of_text|>"
            tok.post_processor = processors.Sequence([
                processors.ByteLevel(trim_offsets=False),
                processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1",
                                              special_tokens=[(bos, tok.token_to_id(bos))]),
            ])
        else:
            tok.post_processor = processors.ByteLevel(trim_offsets=False)
        d = json.loads(tok.to_str())
        if name == "llama3":
            d["model"]["ignore_merges"] = True
        return json.dumps(d, ensure_ascii=False)

    # SentencePiece-style BPE (Llama 2): "▁" for spaces, byte fallback.
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                 split=True)
    # A small alphabet so that byte_fallback has work to do. BpeTrainer's own
    # limit_alphabet breaks count ties in hash order (not reproducible), so the
    # alphabet is chosen here (count, then code point) and other characters are
    # blanked out of the training text.
    counts = collections.Counter(ch for line in train_cases for ch in line)
    keep = {c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:150]}
    train_text = ["".join(ch if ch in keep else " " for ch in line) for line in train_cases]
    trainer = trainers.BpeTrainer(vocab_size=2200, min_frequency=2, special_tokens=specials,
                                  show_progress=False)
    tok.train_from_iterator(train_text, trainer=trainer)
    d = json.loads(tok.to_str())
    # Put the 256 byte tokens right after <unk> <s> </s>, as Llama 2 has them.
    old = d["model"]["vocab"]
    vocab = {}
    for s in specials:
        vocab[s] = len(vocab)
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for t, _ in sorted(old.items(), key=lambda kv: kv[1]):
        if t not in vocab:
            vocab[t] = len(vocab)
    d["model"]["vocab"] = vocab
    d["added_tokens"] = [dict(a, id=vocab[a["content"]]) for a in d["added_tokens"]]
    tok = Tokenizer.from_str(json.dumps(d))
    add_extra_tokens(tok, [], AddedToken)
    if name == "llama2":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"),
                                               normalizers.Replace(" ", "\u2581")])
        tok.pre_tokenizer = None
        tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(),
                                         decoders.Fuse(), decoders.Strip(" ", 1, 0)])
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", vocab["<s>"])])
    else:  # metaspace: Mistral-style pre-tokenizer and decoder
        tok.normalizer = None
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first",
                                                     split=False)
        tok.decoder = decoders.Sequence([decoders.Metaspace(replacement="\u2581",
                                                            prepend_scheme="first", split=False),
                                         decoders.ByteFallback(), decoders.Fuse()])
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> $B:1 </s>:1",
            special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])])
    return tok.to_str()


def derived(name, base_json):
    """Other component mixes over an already trained model (tokenizer.json text)."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors

    if name == "gpt2_prefix":  # from llama3: GPT-2's ByteLevel with add_prefix_space
        d = json.loads(base_json)
        d["model"]["ignore_merges"] = False
        d["post_processor"] = None
        d["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                              "use_regex": True}
        return json.dumps(d, ensure_ascii=False)
    tok = Tokenizer.from_str(base_json)  # mixed: from llama2
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(),
                                           normalizers.Replace(Regex(" {2,}"), " "),
                                           normalizers.Strip(left=True, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Split(pattern="-", behavior="merged_with_previous")])
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    tok.post_processor = processors.BertProcessing(("</s>", 2), ("<s>", 1))
    return tok.to_str()


def write_expected(tok_json, cases, out_dir):
    from tokenizers import Tokenizer

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        f.write(tok_json)
    tok = Tokenizer.from_str(tok_json)
    split = Tokenizer.from_str(tok_json)
    split.encode_special_tokens = True
    with open(os.path.join(out_dir, "expected.jsonl"), "w", encoding="utf-8") as f:
        for text in cases:
            ids = tok.encode(text, add_special_tokens=True).ids
            rec = {"text": text, "ids": ids,
                   "ids_no_special": tok.encode(text, add_special_tokens=False).ids}
            ids_split = split.encode(text, add_special_tokens=True).ids
            if ids_split != ids:
                rec["ids_split"] = ids_split
            decoded = tok.decode(ids, skip_special_tokens=False)
            decoded_skip = tok.decode(ids, skip_special_tokens=True)
            if decoded != text:
                rec["decoded"] = decoded
            if decoded_skip != decoded:
                rec["decoded_skip"] = decoded_skip
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="tests/fixtures/tokenizers")
    ap.add_argument("--demo", default="models/pdserve-demo/tokenizer.json")
    args = ap.parse_args()

    import tokenizers
    print("tokenizers", tokenizers.__version__, file=sys.stderr)
    cases = make_corpus(CORPUS_SEED, CORPUS_BYTES, with_pathological=True)
    train_cases = make_corpus(TRAIN_SEED, TRAIN_BYTES, with_pathological=False)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False, separators=(",", ":")) + "\n")
    trained = {}
    for name in ("llama3", "qwen2", "llama2", "metaspace"):
        trained[name] = train(name, train_cases)
        write_expected(trained[name], cases, os.path.join(args.out, name))
    for name, base in (("gpt2_prefix", "llama3"), ("mixed", "llama2")):
        write_expected(derived(name, trained[base]), cases[:EXTRA_CASES],
                       os.path.join(args.out, name))
    with open(args.demo, encoding="utf-8") as f:
        write_expected(f.read(), cases, os.path.join(args.out, "demo"))
    total = 0
    for root, _, files in os.walk(args.out):
        for fn in files:
            p = os.path.join(root, fn)
            total += os.path.getsize(p)
            print(f"{os.path.getsize(p):9d} {p}", file=sys.stderr)
    print(f"{total:9d} total, {len(cases)} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
