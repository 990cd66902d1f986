#!/usr/bin/env python3
"""`rcgc replay` out of memory: every allocation of the whole program failing in turn.

    malloc_failures.py RCGC FAILMALLOC_SO TRACE...

For each trace and each way of running it (plain, --echo --fields, --explain,
--why, --dot DIR, --html FILE), the run without failures gives the reference
output and the number of allocations (malloc, calloc, realloc, aligned_alloc,
anonymous mmap: tests/tool/failmalloc.c, loaded with LD_PRELOAD). Then the
same run is repeated with allocation N failing, for every N (at most 300 of
them, spread evenly), once alone and once with every allocation after it
failing too. Each run must either
  - exit 0 with exactly the reference output (the failure was absorbed), or
  - exit 2 with one line on standard error saying what failed: "out of
    memory" with the trace's line (trace:LINE:, or trace:0: before the first
    one), or the program's own "rcgc: ..." for a file or memory it could not
    get before the replay began; and on standard output nothing that the
    reference does not have: a prefix of it, or with --explain, --why, --dot
    and --html, which show more than the operations' events, its lines a
    subsequence of the reference's (an operation's events stand when what
    would have explained them could not be made).
A crash, a hang, another exit status or a wrong line fails the test. Exits
77 (skipped) where LD_PRELOAD cannot work: under a sanitizer, whose runtime
owns malloc.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 60
MAX_POINTS = 300
ERROR_RE = re.compile(r"^(trace:\d+: (out of memory|cannot write .*: Cannot allocate memory)"
                      r"|rcgc: (out of memory|cannot (open|write|create) .*: Cannot allocate memory"
                      r"|cannot make a scratch directory for Graphviz))\n\Z")


def modes(tmp):
    """(name, options, whether the output of a failed run must be a prefix)."""
    return [
        ("plain", [], True),
        ("echo-fields", ["--echo", "--fields"], True),
        ("explain", ["--explain"], False),
        ("why", ["--why", "1"], False),
        ("dot", ["--dot", os.path.join(tmp, "dot")], False),
        ("html", ["--html", os.path.join(tmp, "page.html")], False),
    ]


def is_subsequence(lines, of):
    it = iter(of)
    return all(any(line == other for other in it) for line in lines)


def run(rcgc, so, args, trace, tmp, at=0, every=False):
    for name in ("dot", "page.html"):
        path = os.path.join(tmp, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    count = os.path.join(tmp, "count")
    env = dict(os.environ, LD_PRELOAD=so, FAILMALLOC_AT=str(at), FAILMALLOC_ALL="1" if every else "0",
               FAILMALLOC_COUNT=count, PATH="/nonexistent")
    p = subprocess.run([rcgc, "replay"] + args + [trace], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=TIMEOUT)
    calls = int(open(count).read()) if os.path.exists(count) else None
    return p, calls


def check(rcgc, so, trace, tmp):
    bad = 0
    runs = 0
    for mode, args, prefix in modes(tmp):
        ref, calls = run(rcgc, so, args, trace, tmp)
        where = "%s %s" % (os.path.basename(trace), mode)
        if ref.returncode != 0 or calls is None:
            print("%s: the run without failures exits %d (%r)" % (where, ref.returncode, ref.stderr))
            bad += 1
            continue
        step = max(1, calls // MAX_POINTS)
        for at in range(1, calls + 1, step):
            for every in (False, True):
                p, _ = run(rcgc, so, args, trace, tmp, at, every)
                runs += 1
                err = p.stderr.decode("utf-8", "replace")
                if p.returncode == 0:
                    nothing_wrong = p.stdout == ref.stdout
                    ok = nothing_wrong and err == ""
                else:
                    if prefix:
                        nothing_wrong = ref.stdout.startswith(p.stdout)
                    else:
                        nothing_wrong = is_subsequence(p.stdout.split(b"\n"), ref.stdout.split(b"\n"))
                    ok = p.returncode == 2 and ERROR_RE.match(err) is not None and nothing_wrong
                if not ok:
                    bad += 1
                    if bad <= 20:
                        print("%s: allocation %d%s fails: exit %d, stderr %r, stdout %s" % (
                            where, at, " and later" if every else "", p.returncode, err,
                            "right" if nothing_wrong else "WRONG"))
    print("%s: %d runs, %d wrong" % (os.path.basename(trace), runs, bad))
    return bad


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    rcgc, so, traces = argv[1], argv[2], argv[3:]
    tmp = tempfile.mkdtemp(prefix="rcgc-malloc-")
    try:
        probe, calls = run(rcgc, so, [], traces[0], tmp)
        if calls is None:
            print("SKIP: LD_PRELOAD of %s had no effect (a sanitizer's runtime owns malloc)" % so)
            return 77
        bad = sum(check(rcgc, so, t, tmp) for t in traces)
    finally:
        shutil.rmtree(tmp)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
