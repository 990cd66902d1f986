#!/usr/bin/env python3
"""Checks how `rcgc replay` handles one trace, or how `rcgc` handles its command line.

    replay_errors.py RCGC TRACE   run RCGC replay on TRACE, compare with its #? lines
    replay_errors.py --cli RCGC   check the usage errors, --help and --version

A trace states what must happen in comment lines (the replayer ignores them):
    #? args: --echo       options given before the trace (default: none)
    #? stdin              pass the trace on standard input, as `-`
    #? status: 0          the exit status (default: 2)
    #? stdout: LINE       one line of standard output, in order (default: none)
    #? stderr: LINE       one line of standard error, in order (default: none)
Standard output and standard error must be exactly these lines.
"""
import re
import subprocess
import sys

TIMEOUT = 60


def expectations(data):
    exp = {"args": [], "stdin": False, "status": 2, "stdout": [], "stderr": []}
    for raw in data.split(b"\n"):
        if not raw.startswith(b"#?"):
            continue
        key, _, value = raw[2:].decode("utf-8").strip().partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "args":
            exp["args"] = value.split()
        elif key == "stdin":
            exp["stdin"] = True
        elif key == "status":
            exp["status"] = int(value)
        elif key in ("stdout", "stderr"):
            exp[key].append(value)
        else:
            raise SystemExit("unknown expectation #? %s" % key)
    return exp


def run(cmd, stdin=b""):
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)


def report(what, expected, actual):
    print("%s differs" % what)
    print("  expected: %r" % (expected,))
    print("  actual:   %r" % (actual,))


def check_trace(rcgc, trace):
    with open(trace, "rb") as f:
        data = f.read()
    exp = expectations(data)
    if exp["stdin"]:
        p = run([rcgc, "replay"] + exp["args"] + ["-"], data)
    else:
        p = run([rcgc, "replay"] + exp["args"] + [trace])
    ok = True
    if p.returncode != exp["status"]:
        report("exit status", exp["status"], p.returncode)
        ok = False
    for name, actual in (("stdout", p.stdout), ("stderr", p.stderr)):
        expected = "".join(line + "\n" for line in exp[name]).encode("utf-8")
        if actual != expected:
            report(name, expected.decode("utf-8", "replace"), actual.decode("utf-8", "replace"))
            ok = False
    return ok


def check_cli(rcgc):
    usage = r"usage: rcgc replay"
    plain_alone = (r"rcgc: replay: --plain cannot be combined with --explain, --why, --dot or --html, "
                   r"which follow every object until its destroy hook\n")
    cases = [
        ([], 2, "", r"rcgc: missing a command\n" + usage),
        (["bogus"], 2, "", r"rcgc: unknown command or option: bogus\n" + usage),
        (["--version", "x"], 2, "", r"rcgc: unexpected argument: x\n" + usage),
        (["replay"], 2, "", r"rcgc: replay: missing the trace"),
        (["replay", "--bogus", "x"], 2, "", r"rcgc: replay: unknown option --bogus\n" + usage),
        (["replay", "a", "b"], 2, "", r"rcgc: replay: more than one trace: b\n" + usage),
        (["replay", "/nonexistent/t.trace"], 2, "", r"rcgc: cannot open /nonexistent/t\.trace: .+\n\Z"),
        (["replay", "--plain", "--explain", "x"], 2, "", plain_alone + usage),
        (["replay", "--why", "1", "--plain", "x"], 2, "", plain_alone + usage),
        (["--version"], 0, r"rcgc \d+\.\d+\.\d+\n\Z", r"\Z"),
        (["--help"], 0, usage, r"\Z"),
        (["replay", "--help"], 0, usage, r"\Z"),
    ]
    ok = True
    for args, status, out, err in cases:
        p = run([rcgc] + args)
        stdout = p.stdout.decode("utf-8", "replace")
        stderr = p.stderr.decode("utf-8", "replace")
        if p.returncode != status or not re.match(out, stdout) or not re.match(err, stderr):
            print("rcgc %s: status %d, stdout %r, stderr %r" % (" ".join(args), p.returncode, stdout, stderr))
            print("  expected: status %d, stdout ~ %r, stderr ~ %r" % (status, out, err))
            ok = False
    return ok


def main(argv):
    if len(argv) == 3 and argv[1] == "--cli":
        ok = check_cli(argv[2])
    elif len(argv) == 3:
        ok = check_trace(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
