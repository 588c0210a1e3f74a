#!/usr/bin/env python3
"""No fatal check where it cannot be contained: the body of every destructor
and noexcept function of the product's code holds no PD_CHECK, PD_DCHECK,
PD_CUDA_CHECK or PD_CUBLAS_CHECK. A failed check throws CheckFailure inside a
RecoverableChecks scope (common/base/check_scope.h), and an exception out of a
destructor or noexcept function ends the process (std::terminate) even there;
such code logs what went wrong and goes on (PD_CUDA_LOG_IF_ERROR, PD_LOG).

  python3 tests/noexcept_checks_test.py [SOURCE_DIR]   one line per violation
  python3 tests/noexcept_checks_test.py --self-test    plants violations, expects each caught

The scan reads each body as written (callees are not followed). Exits 1 on
any violation.
"""
import os
import re
import sys

SOURCE_EXT = (".h", ".cpp", ".cu", ".cuh")
SKIP = ("tests/", "tools/", "build", "models/", "deploy/", "docs/", "scripts/", "cmake/", ".git")
CHECK = re.compile(r"\bPD_(D?CHECK|CUDA_CHECK|CUBLAS_CHECK)\s*\(")
# `~Name(...)` or `...) noexcept` (not noexcept(false)), then qualifiers, then the body's `{`.
HEAD = re.compile(
    r"(~\w+\s*\([^()]*\)|\)\s*(const\s*)?noexcept(?!\s*\(\s*false))[^;{}()]*?\{")
COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def body_at(text, open_idx):
    depth = 0
    for i in range(open_idx, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[open_idx:i + 1]
    return text[open_idx:]


def violations(path, text):
    text = COMMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    found = []
    for m in HEAD.finditer(text):
        body = body_at(text, m.end() - 1)
        check = CHECK.search(body)
        if check:
            line = text.count("\n", 0, m.end() - 1 + check.start()) + 1
            found.append(f"{path}:{line}: {check.group(0).rstrip('(').strip()} in a "
                         f"{'destructor' if m.group(0).startswith('~') else 'noexcept function'}")
    return found


def scan(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = [d for d in dirnames if not (rel_dir + d + "/").startswith(SKIP)]
        for name in filenames:
            if name.endswith(SOURCE_EXT):
                with open(os.path.join(dirpath, name), encoding="utf-8", errors="replace") as f:
                    found += violations(rel_dir + name, f.read())
    return found


def self_test():
    planted = {
        "dtor": "Pool::~Pool() {\n  if (x) {\n    PD_CHECK(n == 0) << n;\n  }\n}\n",
        "inline dtor": "struct A {\n  ~A() { PD_CUDA_CHECK(cudaFree(p)); }\n};\n",
        "noexcept": "A& A::operator=(A&& o) noexcept {\n  PD_DCHECK(this != &o);\n  return *this;\n}\n",
        "const noexcept": "bool A::ok() const noexcept { PD_CHECK(p); return true; }\n",
    }
    clean = {
        "noexcept(false)": "LogMessage::~LogMessage() noexcept(false) {}\nvoid f() { PD_CHECK(a); }\n",
        "comment": "Pool::~Pool() {\n  // PD_CHECK(n == 0) would abort here\n  free();\n}\n",
        "declaration": "~Pool();\nvoid Pool::free() { PD_CHECK(n == 0); }\n",
        "plain": "void Pool::free() {\n  PD_CHECK(n == 0);\n}\n",
    }
    failed = [k for k, v in planted.items() if len(violations(k, v)) != 1]
    failed += [k for k, v in clean.items() if violations(k, v)]
    for k in failed:
        print(f"self-test: wrong verdict on the '{k}' case")
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = scan(os.path.abspath(root))
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)
