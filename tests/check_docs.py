#!/usr/bin/env python3
"""Checks that the documentation still matches the code.

  check_docs.py tutorial PROGRAM SOURCE DOC
      DOC's ```c blocks must each be a run of consecutive lines of SOURCE, and
      its ```text blocks that start with "== TITLE" must each be exactly the
      part of PROGRAM's output that starts with that line; every part of the
      output must be shown, and PROGRAM must exit with status 0.

  check_docs.py api HEADER DOC
      Every public name of HEADER (functions, types, macros, enum constants;
      not the private rcgc__ / RCGC__ ones) must appear in DOC.

  check_docs.py names ROOT DOC...
      Every rcgc_* / RCGC_* name a DOC mentions must exist in the code under
      ROOT (include/, src/, tools/, examples/, the CMake files), so that a
      renamed or removed function cannot stay documented.

Prints what is wrong and exits with status 1, or exits with 0.
"""
import pathlib
import re
import subprocess
import sys

NAME = re.compile(r"\b(?:rcgc_[A-Za-z0-9_]*[A-Za-z0-9]|RCGC_[A-Z0-9_]*[A-Z0-9])\b")


def fenced_blocks(text):
    """(info string, lines, line number) of every fenced code block."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if m and m.group(1):
            start = i + 1
            j = start
            while j < len(lines) and lines[j] != "```":
                j += 1
            if j == len(lines):
                raise SystemExit(f"unterminated code block at line {i + 1}")
            blocks.append((m.group(1), lines[start:j], i + 1))
            i = j + 1
        else:
            i += 1
    return blocks


def contains_run(haystack, needle):
    n = len(needle)
    return any(haystack[k:k + n] == needle for k in range(len(haystack) - n + 1))


def check_tutorial(program, source, doc):
    errors = []
    run = subprocess.run([program], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if run.returncode != 0:
        errors.append(f"{program} exited with status {run.returncode}\n{run.stdout}{run.stderr}")
    sections = {}
    order = []
    current = None
    for line in run.stdout.rstrip("\n").split("\n"):
        if line.startswith("== "):
            current = line
            order.append(line)
            sections[line] = [line]
        elif current is None:
            errors.append(f"output before the first section: {line!r}")
        else:
            sections[current].append(line)

    src_lines = pathlib.Path(source).read_text().split("\n")
    shown = set()
    blocks = fenced_blocks(pathlib.Path(doc).read_text())
    for info, lines, lineno in blocks:
        if info == "c":
            if not contains_run(src_lines, lines):
                errors.append(f"{doc}:{lineno}: this C block is not a part of {source}")
        elif info == "text" and lines and lines[0].startswith("== "):
            title = lines[0]
            if title not in sections:
                errors.append(f"{doc}:{lineno}: the program prints no section {title!r}")
            elif lines != sections[title]:
                errors.append(f"{doc}:{lineno}: the output of {title!r} is now:\n" + "\n".join(sections[title]))
            shown.add(title)
    for title in order:
        if title not in shown:
            errors.append(f"{doc} does not show the output of {title!r}")
    if not any(info == "c" for info, _, _ in blocks):
        errors.append(f"{doc} has no C block")
    return errors


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def public_names(header):
    code = strip_c_comments(pathlib.Path(header).read_text())
    names = set(NAME.findall(code))
    internal = {"RCGC_H", "RCGC_API", "RCGC_BUILDING"}
    return {n for n in names if "__" not in n and n not in internal}


def check_api(header, doc):
    text = pathlib.Path(doc).read_text()
    documented = set(NAME.findall(text))
    return [f"{doc} does not mention {n}" for n in sorted(public_names(header) - documented)]


def check_names(root, docs):
    root = pathlib.Path(root)
    files = [root / "CMakeLists.txt"]
    for sub in ("include", "src", "tools", "examples", "cmake", "tests"):
        files += [p for p in (root / sub).rglob("*") if p.is_file() and p.suffix in (".c", ".h", ".in", ".cmake", ".txt")]
    known = set()
    for f in files:
        known.update(NAME.findall(f.read_text(errors="replace")))
    errors = []
    for doc in docs:
        text = pathlib.Path(doc).read_text()
        for n in sorted(set(NAME.findall(text)) - known):
            errors.append(f"{doc} mentions {n}, which the code does not have")
    return errors


def main(argv):
    if len(argv) >= 2 and argv[1] == "tutorial" and len(argv) == 5:
        errors = check_tutorial(*argv[2:])
    elif len(argv) == 4 and argv[1] == "api":
        errors = check_api(*argv[2:])
    elif len(argv) >= 4 and argv[1] == "names":
        errors = check_names(argv[2], argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for e in errors:
        print(e)
    if not errors:
        print("ok")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
