#!/usr/bin/env python3
"""Checks bench/report.py's summary in README.md (--readme) against the raw
results it is made from.

Runs report.py on bench/results/ (the committed results of the last full
run), writing the report into a temporary directory and the summary into a
copy of a README with the two markers. Then checks that:
  - the text outside the markers is kept as it was;
  - each figure of the summary is the median of its runs in results.csv,
    worked out here, to the digits printed;
  - the count of met targets is the count of rows marked met in the report's
    own target table;
  - a second run changes nothing, and a README without markers is left alone;
  - the project's README.md holds the figures of the committed results.

    python3 bench/test_report.py
"""
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "bench", "results")
START, END = "<!-- make bench: start -->", "<!-- make bench: end -->"
BEFORE, AFTER = "# A project\n\nText before.\n\n", "\n\nText after.\n"

# Summary row -> (benchmark, case, metric) and the variants of its columns
# (rcgc, CPython, C + mimalloc, Boehm; None: a column left empty).
ROWS = {
    "full collection of 10^6 objects in unreachable 2-cycles, per object":
        (("cycles", "unreachable-1e6", "time_per_object"), ("rcgc", "cpython", None, "boehm")),
    "full collection of 10^6 reachable objects, per object":
        (("cycles", "reachable-1e6", "time_per_object"), ("rcgc", "cpython", None, "boehm")),
    "binary-trees, depth 16":
        (("binary-trees", "depth16", "time"), ("rcgc", "cpython-tuples", "mimalloc", "boehm")),
    "GCBench":
        (("gcbench", "default", "time"), ("rcgc", "cpython-slots", "mimalloc", "boehm")),
    "longest collection pause while a 10^6-object chain is built":
        (("pauses", "chain-1e6", "max"), ("rcgc", "cpython", None, None)),
}

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what)


def medians():
    runs = {}
    with open(os.path.join(RESULTS, "results.csv")) as f:
        for row in csv.reader(f):
            if len(row) < 7 or row[0] == "rep":
                continue
            runs.setdefault((row[1], row[3], row[4], row[2]), []).append(float(row[5]))
    return {k: statistics.median(v) for k, v in runs.items()}


def same_to_printed_digits(text, value):
    """Whether the number at the start of text is value rounded to the
    decimals it shows."""
    m = re.match(r"([0-9]+)(?:\.([0-9]+))?", text)
    if not m:
        return False
    decimals = len(m.group(2) or "")
    return abs(float(m.group(0)) - value) <= 0.5 * 10 ** -decimals * (1 + 1e-9)


def run_report(out, readme):
    return subprocess.run([sys.executable, os.path.join(ROOT, "bench", "report.py"), "--results", RESULTS,
                           "--doc", os.path.join(out, "benchmarks.md"), "--plots", out, "--root", ROOT,
                           "--readme", readme], capture_output=True, text=True)


def main():
    if not os.path.exists(os.path.join(RESULTS, "results.csv")):
        print("no committed results in %s: nothing to check" % RESULTS)
        return 0
    M = medians()
    with tempfile.TemporaryDirectory() as out:
        readme = os.path.join(out, "README.md")
        with open(readme, "w") as f:
            f.write(BEFORE + START + "\nold figures\n" + END + AFTER)
        p = run_report(out, readme)
        check(p.returncode == 0, "report.py exits 0 (stderr: %s)" % p.stderr.strip()[-300:])
        text = open(readme).read()
        check(text.startswith(BEFORE + START + "\n"), "the text before the block is kept")
        check(text.endswith("\n" + END + AFTER), "the text after the block is kept")
        check("old figures" not in text, "the old block is replaced")

        cells = {}
        for line in text.splitlines():
            parts = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(parts) == 5:
                cells[parts[0]] = parts[1:]
        for label, ((bench, case, metric), variants) in ROWS.items():
            check(label in cells, "a row for " + label)
            if label not in cells:
                continue
            for text_cell, variant in zip(cells[label], variants):
                if variant is None:
                    check(text_cell == "", "%s: an empty cell, not %r" % (label, text_cell))
                    continue
                value = M.get((bench, case, metric, variant))
                if value is None:
                    check(text_cell == "", "%s, %s: no results, an empty cell" % (label, variant))
                else:
                    check(same_to_printed_digits(text_cell, value),
                          "%s, %s: %r is the median %.6g" % (label, variant, text_cell, value))

        doc = open(os.path.join(out, "benchmarks.md")).read()
        table = doc.split("## Targets", 1)[1].split("\n## ", 1)[0]
        rows = [l for l in table.splitlines() if l.startswith("| ") and not l.startswith("| target")]
        met = sum(1 for l in rows if l.rstrip().endswith("| met |"))
        check(("(%d of %d are met)" % (met, len(rows))) in text,
              "the summary counts %d met targets of %d" % (met, len(rows)))

        p = run_report(out, readme)
        check(p.returncode == 0 and open(readme).read() == text, "a second run changes nothing")

        real = os.path.join(out, "REAL.md")
        shutil.copyfile(os.path.join(ROOT, "README.md"), real)
        p = run_report(out, real)
        check(p.returncode == 0 and open(real).read() == open(os.path.join(ROOT, "README.md")).read(),
              "README.md's block holds the figures of the committed results")

        plain = os.path.join(out, "PLAIN.md")
        with open(plain, "w") as f:
            f.write(BEFORE + AFTER)
        p = run_report(out, plain)
        check(p.returncode == 0 and open(plain).read() == BEFORE + AFTER, "a README without markers is left alone")
        check("README not updated" in p.stdout, "report.py says it did not update a README without markers")
    print("%d failed" % len(failures) if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
