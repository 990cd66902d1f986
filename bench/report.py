"""Turns the raw results of bench/run.sh into tables, the target check, plots
and docs/benchmarks.md, and with --readme the summary of a few figures in
README.md's block between README_START and README_END.

Input (the --results directory):
  results.csv          rep,bench,variant,case,metric,value,unit: one line per
                       figure per run
  machine.txt          "key: value" lines describing the machine and the build
  refcount-disasm.txt  objdump of bench_refcount_pair (what incref/decref
                       compile to)
  profile-*.txt        optional, written by bench/profile.sh
and bench/profile-notes.md, optional hand-written notes on the profiles.

Every figure is summarised by its median over the repetitions, with the
minimum and maximum; ratios divide medians.

Usage: report.py --results DIR --doc FILE --plots DIR --root REPO [--gnuplot]
                 [--readme README.md]
"""
import argparse
import collections
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap

VARIANT_ORDER = ["rcgc", "rcgc-mutable", "rcgc-shared-leaves", "rcgc-fields", "rcgc-items", "rcgc-entries", "rcgc-immutable",
                 "rcgc-untracked", "rcgc-huge-pages", "rcgc-frozen", "rcgc-destroy", "rcgc-finalizer", "rcgc-prepended",
                 "rcgc-no-scratch", "rcgc-container", "mimalloc", "malloc", "boehm", "cpython", "cpython-tuples", "cpython-slots",
                 "lua", "lua-generational", "php", "php-arrays", "php-objects"]
VARIANT_LABEL = {
    "rcgc": "rcgc", "rcgc-container": "rcgc (tracked container)",
    "rcgc-mutable": "rcgc, mutable nodes", "rcgc-shared-leaves": "rcgc, shared leaves",
    "rcgc-untracked": "rcgc, untracked nodes", "rcgc-huge-pages": "rcgc, huge pages",
    "rcgc-fields": "rcgc, field offsets", "rcgc-items": "rcgc, items", "rcgc-entries": "rcgc, entries",
    "rcgc-immutable": "rcgc, immutable type",
    "rcgc-frozen": "rcgc, frozen", "rcgc-destroy": "rcgc, with destroy",
    "rcgc-finalizer": "rcgc, with finalizer", "rcgc-prepended": "rcgc, built by prepending",
    "rcgc-no-scratch": "rcgc, no_scratch",
    "mimalloc": "C + mimalloc", "malloc": "C + malloc", "boehm": "C + Boehm GC",
    "cpython": "CPython 3.11", "cpython-tuples": "CPython 3.11 tuples",
    "cpython-slots": "CPython 3.11 __slots__",
    "lua": "Lua 5.4", "lua-generational": "Lua 5.4, generational",
    "php": "PHP 8", "php-arrays": "PHP 8 arrays", "php-objects": "PHP 8 objects",
}
METRIC_LABEL = {
    "time": "time", "time_per_op": "alloc + release", "time_per_pair": "incref + decref",
    "time_per_object": "per object", "total": "total collector time", "max": "longest pause",
    "p99": "pause p99", "p50": "pause p50", "gen0_collections": "gen 0 collections",
    "gen1_collections": "gen 1 collections", "gen2_collections": "gen 2 collections",
    "build": "build time, collections included", "block": "block per object",
    "overhead": "overhead per object", "header": "header", "peak_rss_per_object": "peak RSS per object",
    "peak_rss": "peak RSS", "gc_time": "collector time", "gc_runs": "cycle collector runs",
}
# Metrics kept in the raw results and the plots but left out of the tables.
TABLE_HIDDEN = {("cycles", "time")}
BENCHES = ["refcount", "alloc", "binary-trees", "gcbench", "cycles", "pauses", "memory", "levers"]
TITLES = {
    "refcount": "1. Reference counting",
    "alloc": "2. Allocation and release",
    "binary-trees": "3. binary-trees",
    "gcbench": "4. GCBench",
    "cycles": "5. Cycle collection",
    "pauses": "6. Pauses",
    "memory": "7. Memory",
    "levers": "8. What the levers are worth",
}
DESCRIPTIONS = {
    "refcount": (
        "`rcgc_incref` + `rcgc_decref` on one hot object (`hot`: every pair on the same count, "
        "bound by the latency of one memory word) and on 64 objects in turn (`spread64`). "
        "A compiler barrier between the two makes each a real read-modify-write "
        "(bench/refcount.c)."),
    "alloc": (
        "Allocation + release of objects with 16, 32, 64 and 256 payload bytes: `single` (allocate, "
        "release at once), `batch` (1000 allocations, then 1000 releases), `window` (10,000 live "
        "objects, the oldest replaced); and three more windows, as a language's objects come: "
        "`turns-16-256`, the four sizes in turn (four types, each allocation of another type than the "
        "last), `mixed-1-256`, payloads of 1 to 256 bytes drawn at random, as strings and arrays "
        "come (`rcgc_new_sized` of one type), and `large-8k-64k`, a window of 100 objects of 8 to 64 "
        "KiB drawn at random (large objects, on regions of their own). rcgc: "
        "a leaf type (no traverse, never tracked), `rcgc_new` + "
        "`rcgc_decref`; `rcgc (tracked container)`: a type with a traverse function, so the collector "
        "runs at its default thresholds. The C peers allocate zeroed memory (`calloc`, `mi_zalloc`), "
        "as `rcgc_new` does (bench/alloc.c)."),
    "binary-trees": (
        "The Computer Language Benchmarks Game program, depths 16 and 20. rcgc: nodes are containers "
        "with two slots and a traverse function, the collector on at default thresholds. As CPython's "
        "two programs, rcgc has two shapes: `rcgc` builds nodes as tuples (the node type is "
        "`RCGC_TYPE_IMMUTABLE`, each node made after its children, so collections untrack finished "
        "trees as CPython untracks tuples, and its references visited and released right first, "
        "as a tuple's items are, last first), `rcgc, mutable nodes` as `__slots__` objects (a node is "
        "made first and its children stored into it, left then right, the order of its references; "
        "every node stays tracked). `rcgc, shared leaves` is not the game's program but the work of "
        "CPython's tuple program: the tuple nodes, with every leaf one object made before the run, "
        "as CPython's `(None, None)` is one constant. `rcgc, untracked nodes` makes the tuple nodes "
        "with `rcgc_new_untracked` and tracks one only when a child is tracked, as CPython 3.14.1 "
        "makes a tuple of untracked items: no node is ever tracked, and the collections, as many as "
        "before, find nothing to examine. `rcgc, huge pages` is the `rcgc` program on a heap made "
        "with `rcgc_config.huge_pages`, which asks the kernel for transparent huge pages behind its "
        "chunks once it holds 8 MiB (the default until the twenty-fourth round of the performance "
        "log): the two rows show what huge pages are worth on the run's machine. "
        "C peers: "
        "plain structs, freed recursively (malloc, mimalloc) or left to the collector (Boehm). "
        "CPython: the game's tuple program, and a `__slots__` class (bench/binary_trees.c, "
        "bench/binary_trees.py). The collections rows count the collections of each generation: "
        "rcgc follows CPython's rules, so it runs as many as the `__slots__` program; the tuple "
        "program runs fewer, because its leaves `(None, None)` are a constant of the compiled code, "
        "never allocated (half the nodes that rcgc and the C programs allocate), and CPython 3.11 "
        "takes 2-tuples from a free list without counting them as allocations. Untracked nodes make "
        "rcgc's collections cheaper, not fewer. Lua 5.4: the game's Lua program (a node a table "
        "`{ left, right }`, a leaf an empty table), with the collector in its default incremental "
        "mode and in generational mode. PHP 8: the game's PHP program (a node an array "
        "`[left, right]`; its leaf `[null, null]` is a constant array, never allocated, as CPython's "
        "`(None, None)` is) and the same with objects of a class with two declared properties; "
        "`cycle collector runs` counts PHP's collections (`gc_status()`) (bench/binary_trees.lua, "
        "bench/binary_trees.php). Lua's, PHP's and CPython's `__slots__` programs run at depth 20 "
        "only with `BENCH_ALL=1`."),
    "gcbench": (
        "Ellis, Kovac and Boehm's GCBench: stretch tree of depth 18, long-lived tree of depth 16 and "
        "array of 500,000 doubles, then trees of depth 4 to 16 built top-down and bottom-up "
        "(bench/gcbench.c, bench/gcbench.py). `rcgc, huge pages`: the same on a heap made with "
        "`rcgc_config.huge_pages` (see binary-trees). Lua 5.4: a node a table with four fields, in the "
        "collector's incremental and generational modes; PHP 8: objects of a class with four declared "
        "properties (bench/gcbench.lua, bench/gcbench.php)."),
    "cycles": (
        "One full collection over N objects in 2-object cycles: `unreachable` (all garbage) and "
        "`reachable` (each pair held from outside). Automatic collection off while building; only the "
        "collection is timed: `rcgc_collect(h, 2)`, CPython's `gc.collect()` (the interpreter's own "
        "objects frozen first, so the same graph is examined), Boehm's `GC_gcollect()` "
        "(bench/cycles.c, bench/cycles.py). rcgc's reachable pairs are held by a C array, CPython's "
        "by a list. A tracing collector such as Boehm's visits only reachable objects, so its "
        "unreachable case costs next to nothing and its reachable case is a mark of N objects. "
        "Lua 5.4's `collectgarbage(\"collect\")` traces too, but sweeps every object, dead or alive: "
        "its pairs are tables of two slots. PHP 8's `gc_collect_cycles()` is CPython's kind of "
        "collector (counts, then a trial deletion of internal references), over the objects in its "
        "buffer of possible roots, which here holds every object: each one's count went down when "
        "the loop that made it moved on (bench/cycles.lua, bench/cycles.php)."),
    "pauses": (
        "A chain of 10^6 two-slot containers built with automatic collection on at default "
        "thresholds; every collection timed from its START to its STOP callback "
        "(`rcgc_callback_add`, `gc.callbacks`). CPython's own objects are frozen first "
        "(bench/pauses.c, bench/pauses.py). Lua and PHP are not timed here: neither tells a program "
        "when a collection starts and ends (PHP reports its collector's time from 8.3 on)."),
    "memory": (
        "10^6 objects with two reference slots (16 payload bytes), kept alive as a chain. `block`: "
        "the bytes the manager sets aside per object (rcgc: `object_bytes / objects` of "
        "`rcgc_get_memory_stats`; glibc: usable size + size word; mimalloc: `mi_usable_size`; Boehm: "
        "`GC_size`; CPython: `sys.getsizeof` with its GC header, rounded to 16). `peak RSS`: VmHWM "
        "minus the resident set before the first object, read twice so that the code reading it is "
        "resident before the read that counts (bench/memory.c, bench/memory.py). Lua 5.4: "
        "tables `{ next, false }`, `block` from `collectgarbage(\"count\")`; PHP 8: objects of a class "
        "with two declared properties, and arrays `[next, null]`, `block` from `memory_get_usage()` "
        "(bench/memory.lua, bench/memory.php)."),
    "levers": (
        "The same work with and without each call an embedder can make for speed, and with and "
        "without what costs (bench/levers.c); `rcgc` is the work without the lever. `fields`: full "
        "collections of N reachable two-slot pairs held from a C array, with a traverse function "
        "only and with `rcgc_set_type_fields`. `items`: full collections of N reachable lists in groups "
        "of four, each holding the four of its group (itself too) in an array of its own, one of each "
        "group held from a C array, with a traverse function only and with `rcgc_set_type_items`, and "
        "CPython 3.11's `gc.collect()` over the same lists (bench/levers.py). `entries`: the same with "
        "dicts of four entries (a hash, a key and a value each: the keys four leaves shared by all, the "
        "values the dicts of the group), with a traverse function only and with `rcgc_set_type_entries`, "
        "and CPython's over dicts `{0: d0, 1: d1, 2: d2, 3: d3}`, whose int keys make it keep entries of "
        "the same three words. "
        "`trees`: 128 bottom-up binary trees of depth 13 (16,383 "
        "nodes each), each made and dropped, beside a long-lived tree of depth 16, automatic collection on; "
        "the whole run and the collections' part of it, with a plain container type, with "
        "`RCGC_TYPE_IMMUTABLE` (collections untrack finished trees, as CPython untracks tuples) and "
        "with nodes made by `rcgc_new_untracked` and tracked only when a child is. `freeze`: one "
        "`rcgc_collect(h, 2)` of 10^4 young garbage pairs beside 10^6 long-lived objects, and the "
        "same after `rcgc_freeze` has moved the long-lived ones to the permanent generation. "
        "`hooks`: one full collection of N objects in unreachable pairs, of a plain type, of a type "
        "with a `destroy` function and of one with a `finalize` function (both do nothing): hooks "
        "take the collection off its bulk path, and finalizers add their run and a second "
        "analysis. `order`: one full collection of a chain of N objects held by its first, built "
        "from the head (each object made before the one it refers to, as a list appended to) and "
        "built by prepending (each new object refers to the one before), which `move_unreachable` "
        "parks and takes back one by one. `scattered`: N objects made, then 2N times a random one "
        "released and a new one made, then paired and held as in `fields`, so that the list is out of "
        "address order, as it gets where objects are made and released in any order; one full "
        "collection untimed (it finds the list so), then the timed one, which borrows a table of the "
        "list's links (docs/design.md, \"Scattered lists\"), and the same on a heap made with "
        "`rcgc_config.no_scratch`, which follows the list object by object; CPython's peer does the "
        "same with a `__slots__` class (bench/levers.py). Automatic collection is off except in `trees`."),
}


def load(path):
    data = collections.defaultdict(lambda: collections.defaultdict(list))
    units = {}
    order = collections.defaultdict(list)
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row["bench"], row["case"], row["metric"])
            data[key][row["variant"]].append(float(row["value"]))
            units[key] = row["unit"]
            if (row["case"], row["metric"]) not in order[row["bench"]]:
                order[row["bench"]].append((row["case"], row["metric"]))
    return data, units, order


def fmt(v):
    if v is None:
        return "?"
    a = abs(v)
    if a >= 100 or a == int(a) and a < 1e6:
        return "%.0f" % v
    if a >= 10:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def distinct(v, text, ref, digits):
    """text, the value v printed, or v with more significant digits (up to 8)
    while it would print as ref, from which it differs."""
    while v != ref and float(text) == ref and digits < 8:
        digits += 1
        text = "%.*g" % (digits, v)
    return text


def fmt_ratio(r, goal=None):
    """A ratio; given the goal it is compared with, one that differs from it
    but would print as it gets more digits."""
    if r is None:
        return "n/a"
    if r >= 10:
        text = "%.1f" % r
    elif r >= 1:
        # A ratio that rounds to 1.00 gets a third decimal: it may miss by less.
        text = "%.2f" % r if "%.2f" % r != "1.00" or r == 1 else "%.3f" % r
    else:
        text = "%.3g" % r
    return distinct(r, text, goal, 3) if goal is not None else text


def fmt_factor(s):
    """A shortfall factor, with a fourth digit when it is within 0.5% of 1,
    and more when it would still print as 1."""
    return "%.3g" % s if abs(s - 1) >= 0.005 else distinct(s, "%.4g" % s, 1.0, 4)


def variant_key(v):
    return (VARIANT_ORDER.index(v) if v in VARIANT_ORDER else len(VARIANT_ORDER), v)


class Results:
    def __init__(self, data, units, order):
        self.data, self.units, self.order = data, units, order

    def values(self, bench, case, metric, variant):
        return self.data.get((bench, case, metric), {}).get(variant)

    def median(self, bench, case, metric, variant):
        v = self.values(bench, case, metric, variant)
        return statistics.median(v) if v else None

    def unit(self, bench, case, metric):
        return self.units.get((bench, case, metric), "")

    def table(self, bench):
        """Rows: case, metric, variant, median, min-max, ratio to rcgc."""
        rows = []
        shown = [(c, m) for c, m in self.order[bench] if (bench, m) not in TABLE_HIDDEN]
        metrics = {m for _, m in shown}
        for case, metric in shown:
            by_variant = self.data[(bench, case, metric)]
            unit = self.unit(bench, case, metric)
            if unit == "count":
                unit = ""
            ref = self.median(bench, case, metric, "rcgc")
            first = True
            for variant in sorted(by_variant, key=variant_key):
                vals = by_variant[variant]
                med = statistics.median(vals)
                ratio = med / ref if ref else None
                label = case if len(metrics) == 1 else "%s, %s" % (case, METRIC_LABEL.get(metric, metric))
                rows.append([label if first else "", VARIANT_LABEL.get(variant, variant),
                             ("%s %s" % (fmt(med), unit)).rstrip(), "%s–%s" % (fmt(min(vals)), fmt(max(vals))),
                             fmt_ratio(ratio) if ratio is not None else ""])
                first = False
        return ["case", "variant", "median", "min–max", "÷ rcgc"], rows


def text_table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


# ---- Targets -------------------------------------------------------------------------------

class Target:
    """One line of the target table. kind "le": ratio <= goal; "ge": ratio >= goal."""

    def __init__(self, name, measured, ratio, goal, kind, note=""):
        self.name, self.measured, self.ratio, self.goal, self.kind = name, measured, ratio, goal, kind
        self.note = note            # said after the shortfall in "Where targets are missed"

    @property
    def status(self):
        if self.ratio is None:
            return "no data"
        ok = self.ratio <= self.goal if self.kind == "le" else self.ratio >= self.goal
        return "met" if ok else "missed"

    def goal_text(self):
        return ("≤ " if self.kind == "le" else "≥ ") + ("%.1f" % self.goal if self.goal >= 10 else "%.2f" % self.goal)

    def shortfall(self):
        """How far from the goal, as a factor (> 1 when missed)."""
        if self.ratio is None or self.ratio <= 0:
            return None
        return self.ratio / self.goal if self.kind == "le" else self.goal / self.ratio


def disasm_check(path):
    """Instructions of bench_refcount_pair, and whether they are only an add, a
    sub and a conditional branch (plus the return and the jump to rcgc__dealloc)."""
    try:
        lines = [l for l in open(path).read().splitlines() if re.match(r"\s+[0-9a-f]+:\t", l)]
    except OSError:
        return None, None
    body = []
    for l in lines:
        ins = l.split("\t", 1)[1].strip()
        if ins.startswith("nop") or ins.startswith("cs nop") or ins.startswith("xchg   %ax,%ax"):
            continue
        body.append(ins)
    mnem = [i.split()[0] for i in body]
    def kind(ins):
        m = ins.split()[0]
        if m.startswith("add") and re.search(r"\$(-|0xffffffff)", ins):
            return "sub"            # clang writes the decrement as an add of -1
        if m.startswith(("add", "inc")):
            return "add"
        if m.startswith(("sub", "dec")):
            return "sub"
        return "branch" if m.startswith("j") and m != "jmp" else m
    kinds = sorted(kind(i) for m, i in zip(mnem, body)
                   if m not in ("ret", "retq", "endbr64") and "rcgc__dealloc" not in i)
    calls_other = any(m.startswith("call") and "rcgc__dealloc" not in i for m, i in zip(mnem, body))
    inlined = kinds == ["add", "branch", "sub"] and not calls_other
    return body, inlined


def targets(R, results_dir):
    T = []
    med = R.median

    def ratio(a, b):
        return a / b if a is not None and b else None

    def two(name_a, a, name_b, b, unit):
        if a is None or b is None:
            return "not measured"
        return "%s %s %s, %s %s %s" % (name_a, fmt(a), unit, name_b, fmt(b), unit)

    for case, label in (("unreachable-1e6", "unreachable"), ("reachable-1e6", "reachable")):
        r, c = med("cycles", case, "time_per_object", "rcgc"), med("cycles", case, "time_per_object", "cpython")
        T.append(Target("Cycle collection, %s, N = 10^6: ≤ 1/10 of CPython per object" % label,
                        two("rcgc", r, "CPython", c, "ns"), ratio(r, c), 0.1, "le"))

    for bench, case, title in (("binary-trees", "depth16", "binary-trees depth 16"),
                               ("binary-trees", "depth20", "binary-trees depth 20"),
                               ("gcbench", "default", "GCBench")):
        r = med(bench, case, "time", "rcgc")
        m = med(bench, case, "time", "mimalloc")
        b = med(bench, case, "time", "boehm")
        note = ""
        untracked = med(bench, case, "time", "rcgc-untracked")
        if untracked is not None and m is not None:
            note = ("With nodes made untracked (`rcgc, untracked nodes`, as CPython 3.14.1 makes "
                    "its tuples), rcgc takes %s s: %s× C + mimalloc." % (fmt(untracked), fmt_ratio(untracked / m, 1.3)))
        T.append(Target("%s: ≤ 1.3 × C + mimalloc" % title,
                        two("rcgc", r, "mimalloc", m, "s"), ratio(r, m), 1.3, "le", note=note))
        T.append(Target("%s: faster than Boehm" % title,
                        two("rcgc", r, "Boehm", b, "s"), ratio(r, b), 1.0, "le"))
        for v in ("cpython-tuples", "cpython-slots"):
            c = med(bench, case, "time", v)
            if c is None and (bench == "gcbench" and v == "cpython-tuples" or case == "depth20" and v == "cpython-slots"):
                continue
            # Like for like: mutable rcgc nodes against __slots__ objects.
            mine, name = r, "rcgc"
            if bench == "binary-trees" and v == "cpython-slots":
                mine, name = med(bench, case, "time", "rcgc-mutable"), "rcgc, mutable nodes"
            note = ""
            shared = med(bench, case, "time", "rcgc-shared-leaves")
            if v == "cpython-tuples" and shared is not None and c is not None:
                note = ("Doing the work of CPython's program, whose leaves are one constant tuple "
                        "(`rcgc, shared leaves`: every leaf one object), rcgc takes %s s: %s× "
                        "faster." % (fmt(shared), fmt_ratio(c / shared, 10.0)))
            T.append(Target("%s: ≥ 10 × faster than %s" % (title, VARIANT_LABEL[v]),
                            two(name, mine, "CPython", c, "s"), ratio(c, mine), 10.0, "ge", note=note))

    alloc_cases = [c for c, m in R.order["alloc"] if m == "time_per_op"]
    ratios, beyond = [], []
    for c in alloc_cases:
        rr = ratio(med("alloc", c, "time_per_op", "rcgc"), med("alloc", c, "time_per_op", "mimalloc"))
        if rr is None:
            continue
        # The cases: its four sizes in its three patterns. The other windows are reported
        # beside the target, not in it.
        if re.fullmatch(r"(single|batch|window)-\d+", c):
            ratios.append((rr, c))
        else:
            beyond.append((rr, c))
    if ratios:
        worst = max(ratios)
        ok = sum(1 for rr, _ in ratios if rr <= 1.0)
        t = Target("Allocation + release: no slower than mimalloc, every size and pattern",
                   "met in %d of %d cases; worst %s: rcgc %s ns, mimalloc %s ns" % (
                       ok, len(ratios), worst[1], fmt(med("alloc", worst[1], "time_per_op", "rcgc")),
                       fmt(med("alloc", worst[1], "time_per_op", "mimalloc"))),
                   worst[0], 1.0, "le")
        over = ", ".join("%s %s" % (c, fmt_ratio(rr)) for rr, c in sorted(ratios, reverse=True) if rr > 1.0)
        notes = ["Cases over: %s." % over] if over else []
        if beyond:
            notes.append("Beyond the issue's sizes and patterns (not counted here): %s." % ", ".join(
                "%s %s" % (c, fmt_ratio(rr)) for rr, c in beyond))
        if notes:
            t.note = " ".join(notes)
        T.append(t)
    else:
        T.append(Target("Allocation + release: no slower than mimalloc", "not measured", None, 1.0, "le"))

    pcase = next((c for c, _ in R.order["pauses"]), "chain-1e6")
    for metric, label in (("max", "longest pause"), ("total", "total collector time")):
        r, c = med("pauses", pcase, metric, "rcgc"), med("pauses", pcase, metric, "cpython")
        T.append(Target("Pauses, %s: ≤ 1/10 of CPython" % label,
                        two("rcgc", r, "CPython", c, "ms"), ratio(r, c), 0.1, "le"))

    mcase = next((c for c, _ in R.order["memory"]), "two-slot-1e6")
    ov = med("memory", mcase, "overhead", "rcgc")
    T.append(Target("Memory: overhead per object ≤ 16 bytes (CPython: 32)",
                    "not measured" if ov is None else "rcgc %s B (block %s B, header %s B)" % (
                        fmt(ov), fmt(med("memory", mcase, "block", "rcgc")),
                        fmt(med("memory", mcase, "header", "rcgc"))),
                    ov / 16.0 if ov is not None else None, 1.0, "le"))
    for v in ("cpython-slots", "cpython-tuples"):
        r, c = med("memory", mcase, "peak_rss", "rcgc"), med("memory", mcase, "peak_rss", v)
        T.append(Target("Memory: peak RSS ≤ 1/2 of %s" % VARIANT_LABEL[v],
                        two("rcgc", r, "CPython", c, "MiB"), ratio(r, c), 0.5, "le"))

    body, inlined = disasm_check(os.path.join(results_dir, "refcount-disasm.txt"))
    hot = med("refcount", "hot", "time_per_pair", "rcgc")
    if body is None:
        T.append(Target("incref/decref inlined: an add, a sub and a branch", "no disassembly", None, 1.0, "le"))
    else:
        T.append(Target("incref/decref inlined: an add, a sub and a branch",
                        "%d instructions (%s)%s" % (
                            len(body), "; ".join(b.split()[0] for b in body),
                            "" if hot is None else ", %s ns per pair" % fmt(hot)),
                        1.0 if inlined else 2.0, 1.0, "le"))

    sizes = sorted({c.split("-", 1)[1] for c, m in R.order["cycles"]
                    if m == "time_per_object"}, key=float)
    if len(sizes) >= 2:
        lo = "1e5" if "1e5" in sizes else sizes[0]
        hi = sizes[-1]
        for label in ("unreachable", "reachable"):
            a = med("cycles", "%s-%s" % (label, lo), "time_per_object", "rcgc")
            b = med("cycles", "%s-%s" % (label, hi), "time_per_object", "rcgc")
            T.append(Target("Linear cost, %s: per-object time at N = %s ÷ at N = %s ≤ 1.5" % (label, hi, lo),
                            two("N = %s:" % hi, b, "N = %s:" % lo, a, "ns"), ratio(b, a), 1.5, "le"))
    return T


def target_rows(T):
    return [[t.name, t.measured, fmt_ratio(t.ratio, t.goal), t.goal_text(), t.status] for t in T]


def missed_text(T):
    out = []
    for t in T:
        if t.status != "missed":
            continue
        s = t.shortfall()
        if t.kind == "le":
            how = "%s×, the goal is %s: %s× too %s" % (
                fmt_ratio(t.ratio, t.goal), t.goal_text(), fmt_factor(s),
                "large" if "Memory" in t.name else "slow")
        else:
            how = "%s×, the goal is %s: %s× short" % (fmt_ratio(t.ratio, t.goal), t.goal_text(), fmt_factor(s))
        if "inlined" in t.name:
            how = "the generated code is not an add, a sub and a branch (see section 1)"
        line = "- **%s**: %s; %s." % (t.name, t.measured, how)
        if t.note:
            line += " " + t.note
        out.append(line)
    return out


# ---- Plots ---------------------------------------------------------------------------------

PLOT_COLOR = {"rcgc": "#1f5fbf", "rcgc-container": "#7aa6e6", "rcgc-mutable": "#3b7dd8",
              "rcgc-shared-leaves": "#8fb5ea", "rcgc-untracked": "#c6d8f3",
              "rcgc-huge-pages": "#0b2e63", "mimalloc": "#2e9e4f", "malloc": "#8fd19e",
              "boehm": "#7f7f7f", "cpython": "#e07b00", "cpython-tuples": "#e07b00",
              "cpython-slots": "#f5b971", "lua": "#7d3c98", "lua-generational": "#c39bd3",
              "php": "#cd6155", "php-arrays": "#a93226", "php-objects": "#e6b0aa"}

GNUPLOT_HEAD = """set terminal svg size 760,460 dynamic enhanced font "sans,12" background rgb "white"
set output "%s"
set key top left box opaque
set grid
set datafile missing "?"
"""


def plot_cycles(R, plots, tmp):
    """Two plots: collection time against N (log-log) and time per object."""
    series = []
    for variant in ("rcgc", "cpython", "boehm", "lua", "php"):
        for case in ("unreachable", "reachable"):
            pts = []
            for c, m in R.order["cycles"]:
                if m == "time" and c.startswith(case + "-"):
                    t = R.median("cycles", c, "time", variant)
                    p = R.median("cycles", c, "time_per_object", variant)
                    if t is not None:
                        pts.append((float(c.split("-", 1)[1]), t, p))
            if pts:
                style = 'lc rgb "%s" dt %d pt %d' % (PLOT_COLOR[variant], 1 if case == "unreachable" else 2,
                                                     7 if case == "unreachable" else 6)
                series.append(("%s, %s" % (VARIANT_LABEL[variant], case), sorted(pts), style))
    if not series:
        return []
    files = []
    for idx, (name, pts, style) in enumerate(series):
        fn = os.path.join(tmp, "cycles%d.dat" % idx)
        with open(fn, "w") as f:
            for n, t, p in pts:
                f.write("%g %g %g\n" % (n, t, p))
        files.append((name, fn, style))
    out = []
    path = os.path.join(plots, "bench-cycles.svg")
    script = GNUPLOT_HEAD % path
    script += 'set title "One full collection: time against the number of objects"\n'
    script += 'set logscale xy\nset xlabel "objects (N)"\nset ylabel "collection time (ms)"\n'
    script += "set format x \"10^{%L}\"\n"
    script += "plot " + ", ".join('"%s" using 1:2 with linespoints lw 2 %s title "%s"' % (fn, st, n)
                                  for n, fn, st in files) + "\n"
    out.append((path, script))
    path = os.path.join(plots, "bench-cycles-per-object.svg")
    script = GNUPLOT_HEAD % path
    script += 'set title "One full collection: time per object (flat = linear cost)"\n'
    script += "set key outside right top box\n"
    script += 'set logscale x\nset logscale y\nset xlabel "objects (N)"\nset ylabel "ns per object"\n'
    script += "set format x \"10^{%L}\"\n"
    script += "plot " + ", ".join('"%s" using 1:3 with linespoints lw 2 %s title "%s"' % (fn, st, n)
                                  for n, fn, st in files) + "\n"
    out.append((path, script))
    return out


def plot_speed(R, plots, tmp):
    """Clustered bars: binary-trees and GCBench time of each variant relative to rcgc."""
    groups = [("binary-trees", c) for c, m in R.order["binary-trees"] if m == "time"]
    groups += [("gcbench", c) for c, m in R.order["gcbench"] if m == "time"]
    variants = sorted({v for b, c in groups for v in R.data[(b, c, "time")]}, key=variant_key)
    if not groups or "rcgc" not in variants:
        return []
    fn = os.path.join(tmp, "speed.dat")
    with open(fn, "w") as f:
        f.write("case " + " ".join('"%s"' % VARIANT_LABEL.get(v, v) for v in variants) + "\n")
        for b, c in groups:
            ref = R.median(b, c, "time", "rcgc")
            vals = []
            for v in variants:
                m = R.median(b, c, "time", v)
                vals.append("%g" % (m / ref) if m is not None and ref else "?")
            label = "binary-trees, %s" % c.replace("depth", "depth ") if b == "binary-trees" else "GCBench"
            f.write('"%s" %s\n' % (label, " ".join(vals)))
    path = os.path.join(plots, "bench-speed.svg")
    # Wider than the others: the key has a column per three variants.
    script = (GNUPLOT_HEAD % path).replace("size 760,460", "size 960,500")
    script += 'set title "binary-trees and GCBench: time relative to rcgc (lower is faster)"\n'
    script += "set style data histograms\nset style histogram clustered gap 1\n"
    script += "set style fill solid 0.8 border -1\nset boxwidth 0.9\nset logscale y\n"
    script += 'set ylabel "time / rcgc time (log scale)"\nset key outside bottom center horizontal maxrows 3\n'
    script += "set yrange [0.05:*]\n"
    script += "set termoption noenhanced\n"
    script += "plot " + ", ".join('"%s" using %d:xtic(1) title columnheader(%d) lc rgb "%s"' % (
        fn, i + 2, i + 2, PLOT_COLOR.get(v, "black")) for i, v in enumerate(variants)) + ", 1 with lines lc rgb \"black\" dt 2 notitle\n"
    return [(path, script)]


def make_plots(R, plots, use_gnuplot):
    if not use_gnuplot:
        return []
    made = []
    os.makedirs(plots, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for path, script in plot_cycles(R, plots, tmp) + plot_speed(R, plots, tmp):
            sf = os.path.join(tmp, "plot.gp")
            with open(sf, "w") as f:
                f.write(script)
            p = subprocess.run(["gnuplot", sf], capture_output=True, text=True)
            if p.returncode == 0:
                made.append(path)
            else:
                print("gnuplot failed for %s:\n%s" % (path, p.stderr), file=sys.stderr)
    return made


# ---- The document --------------------------------------------------------------------------

def read_machine(path):
    m = collections.OrderedDict()
    try:
        for line in open(path):
            if ":" in line:
                k, v = line.split(":", 1)
                m[k.strip()] = v.strip()
    except OSError:
        pass
    return m


def document(R, T, machine, disasm, plots, doc, root, results_dir):
    rel = lambda p: os.path.relpath(p, os.path.dirname(os.path.abspath(doc)))
    relroot = lambda p: os.path.relpath(p, root)
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append("rcgc side by side with CPython 3.11, C with malloc, C with mimalloc, the Boehm "
             "collector, Lua 5.4 and PHP 8, all measured in one run on the same machine. This file is generated by "
             "`make bench` (`bench/run.sh`, `bench/report.py`) from the raw results in `%s/`; edit "
             "those scripts, not this file." % relroot(results_dir))
    L.append("")
    L.append("Run %s, %s repetitions (%s mode). Every figure is the median of the repetitions; "
             "ratios divide medians. The variants ran interleaved: each repetition runs every "
             "variant of every benchmark once, in turn, each in a fresh process, pinned to %s "
             "(`BENCH_CPU`)." % (
                 machine.get("date", "?"), machine.get("reps", "?"), machine.get("mode", "?"),
                 machine.get("pinned to", "no CPU")))
    L.append("")
    L.append("## How to run")
    L.append("")
    L.append("```sh")
    L.append("apt-get install -y libmimalloc-dev libgc-dev lua5.4 php-cli gnuplot   # the peers and the plots")
    L.append("make bench                    # full run%s" % (
        " (this one: %s)" % machine["duration"] if "duration" in machine and "full" in machine.get("mode", "") else ""))
    L.append("BENCH_QUICK=1 make bench      # smaller sizes, results under build/bench-report/")
    L.append("BENCH_ONLY=\"cycles pauses\" BENCH_REPS=3 ./bench/run.sh build")
    L.append("./bench/profile.sh build      # perf profile of rcgc's cycle collection, binary-trees and GCBench")
    L.append("```")
    L.append("")
    L.append("Missing peers are skipped with a message; nothing is installed by the scripts. "
             "`BENCH_ALL=1` adds CPython's `__slots__`, Lua's and PHP's binary-trees at depth 20 "
             "(about four minutes a repetition). The targets are measured against CPython and the C "
             "peers; Lua and PHP are there for comparison.")
    L.append("")
    L.append("## Machine")
    L.append("")
    L.append(md_table(["", ""], [[k, v.replace("|", "/")] for k, v in machine.items()]))
    L.append("")
    L.append("## Targets")
    L.append("")
    L.append("Ratios are rcgc ÷ peer, except for the CPython speed-ups (peer ÷ rcgc), the overhead "
             "(rcgc's ÷ 16 bytes) and the linear-cost check (per-object time at the largest N ÷ at "
             "10^5).")
    L.append("")
    L.append(md_table(["target", "measured (medians)", "ratio", "goal", ""], target_rows(T)))
    L.append("")
    L.append("## Where targets are missed")
    L.append("")
    missed = missed_text(T)
    L.extend(missed if missed else ["Every target with data is met."])
    L.append("")
    profiles = sorted(f for f in os.listdir(results_dir) if f.startswith("profile-") and f.endswith(".txt"))
    notes = os.path.join(root, "bench", "profile-notes.md")
    if os.path.exists(notes):
        L.append(open(notes).read().strip())
        L.append("")
    if profiles:
        L.append("Profiles written by `bench/profile.sh` (top symbols, self time):")
        L.append("")
        for p in profiles:
            L.append("`%s`:" % relroot(os.path.join(results_dir, p)))
            L.append("")
            L.append("```")
            L.extend(open(os.path.join(results_dir, p)).read().rstrip().splitlines())
            L.append("```")
            L.append("")
    else:
        L.append("`bench/profile.sh` records where the time goes (perf, or callgrind without perf); "
                 "its output is included here once it has been run.")
        L.append("")

    for bench in BENCHES:
        if not R.order.get(bench):
            continue
        L.append("## " + TITLES[bench])
        L.append("")
        L.append(DESCRIPTIONS[bench])
        L.append("")
        header, rows = R.table(bench)
        L.append(md_table(header, rows))
        L.append("")
        if bench == "refcount" and disasm:
            L.append("What `rcgc_incref(obj); rcgc_decref(obj);` compiles to (`bench_refcount_pair` in "
                     "bench/refcount.c, %s, `objdump -d`): an add to the count, a subtract and a "
                     "branch to `rcgc__dealloc` taken only at zero." % machine.get("compiler", "?").split(":")[0])
            L.append("")
            L.append("```")
            L.extend(disasm)
            L.append("```")
            L.append("")
        if bench == "cycles":
            for p in plots:
                if os.path.basename(p).startswith("bench-cycles"):
                    L.append("![%s](%s)" % (os.path.basename(p), rel(p)))
                    L.append("")
        if bench == "gcbench":
            for p in plots:
                if os.path.basename(p) == "bench-speed.svg":
                    L.append("![binary-trees and GCBench relative to rcgc](%s)" % rel(p))
                    L.append("")
    L.append("## Method")
    L.append("")
    L.append("- Each benchmark program is built once per memory manager (bench/CMakeLists.txt), so "
             "that linking mimalloc or Boehm never changes another variant's `malloc`. The programs of "
             "rcgc and of the C peers are compiled with the same compiler and flags (the build's, above); "
             "rcgc is linked statically, built with its own flags besides (CMakeLists.txt), and "
             "mimalloc and Boehm are the distribution's shared libraries, as installed.")
    L.append("- Times are wall-clock (`CLOCK_MONOTONIC`, `time.perf_counter`, `hrtime`; Lua's below) around the measured "
             "part only, inside the process. Every program checks its own result (node counts, the "
             "number of objects collected) and a run with a wrong result is reported as failed, not "
             "counted.")
    L.append("- The Boehm collector runs with its defaults; the programs start no thread, so it "
             "marks on the calling thread. CPython is 3.11 as installed: `BENCH_PYTHON` if set, else "
             "the first of `python3`, `python3.11` and `/usr/bin/python3.11` whose interpreter has "
             "libpython linked in, which runs faster than one built with `--enable-shared` (pyenv's), "
             "or else the first found; the machine table names it.")
    L.append("- Lua is the `lua5.4` found, with its collector's default settings. It has no clock "
             "finer than a second, so its programs report processor time (`os.clock`, user and system), "
             "which for one thread that never waits is its wall time. PHP is the `php` found (8 or "
             "later), the command-line interpreter as installed (the machine table says whether "
             "opcache, and with it the JIT, is on), timed with `hrtime`.")
    L.append("- `make test` runs every benchmark program once with `--tiny`; figures never fail a test.")
    L.append("")
    with open(doc, "w") as f:
        f.write("\n".join(L))


README_START = "<!-- make bench: start -->"
README_END = "<!-- make bench: end -->"


def readme_figures(R, T, machine):
    """The lines of README.md's summary: a few figures of this run beside the
    peers that the targets name."""
    def cell(bench, case, metric, variant, unit, note=""):
        v = R.median(bench, case, metric, variant)
        return "" if v is None else ("%s %s" % (fmt(v), unit)).rstrip() + note

    def line(label, *cells):
        return "| " + " | ".join((label,) + cells) + " |"

    def row(label, bench, case, metric, unit, cpython, cpython_note=""):
        return line(label, cell(bench, case, metric, "rcgc", unit),
                    cell(bench, case, metric, cpython, unit, cpython_note),
                    cell(bench, case, metric, "mimalloc", unit) if bench != "cycles" else "",
                    cell(bench, case, metric, "boehm", unit))

    memory_cpython = ", ".join(x for x in (
        cell("memory", "two-slot-1e6", "block", "cpython-slots", "", " (`__slots__`)"),
        cell("memory", "two-slot-1e6", "block", "cpython-tuples", "", " (tuple)")) if x)
    family = machine.get("cpu family/model/stepping", "").split("/")
    cpu = machine.get("cpu", "?") + (", family %s model %s" % (family[0], family[1]) if len(family) >= 2 else "")
    met = sum(1 for t in T if t.status == "met")
    intro = textwrap.wrap("Measured by `make bench`, all side by side in one run on one machine (%s, %s; "
                          "medians of %s):" % (cpu, machine.get("date", "?"), machine.get("reps", "?")), 80)
    return [README_START] + intro + [
        "",
        "| | rcgc | CPython 3.11 | C + mimalloc | Boehm GC |",
        "|---|---|---|---|---|",
        row("full collection of 10^6 objects in unreachable 2-cycles, per object",
            "cycles", "unreachable-1e6", "time_per_object", "ns", "cpython"),
        row("full collection of 10^6 reachable objects, per object",
            "cycles", "reachable-1e6", "time_per_object", "ns", "cpython"),
        row("binary-trees, depth 16", "binary-trees", "depth16", "time", "s", "cpython-tuples", " (tuples)"),
        row("GCBench", "gcbench", "default", "time", "s", "cpython-slots", " (`__slots__`)"),
        line("longest collection pause while a 10^6-object chain is built",
             cell("pauses", "chain-1e6", "max", "rcgc", "ms"), cell("pauses", "chain-1e6", "max", "cpython", "ms"),
             "", ""),
        line("bytes per object with two references", cell("memory", "two-slot-1e6", "block", "rcgc", ""),
             memory_cpython, cell("memory", "two-slot-1e6", "block", "mimalloc", ""),
             cell("memory", "two-slot-1e6", "block", "boehm", "")),
        "",
        "Boehm's collector marks what is reachable and takes back the rest by its mark",
        "bits, so unreachable objects cost it almost nothing and reachable ones cost it",
        "more; mimalloc's objects carry no count and nothing collects their cycles.",
        "[docs/benchmarks.md](docs/benchmarks.md) has every table and plot, the project's",
        "performance targets (%d of %d are met), and for each one missed, by how" % (met, len(T)),
        "much and what the profiles show.",
        README_END,
    ]


def update_readme(path, lines):
    """Puts lines in place of README.md's block between README_START and
    README_END; a README without the block is left as it is."""
    try:
        text = open(path).read()
    except OSError as e:
        print("README not updated: %s" % e)
        return
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        print("README not updated: %s has no block between %s and %s" % (path, README_START, README_END))
        return
    new = text[:start] + "\n".join(lines) + text[end + len(README_END):]
    if new != text:
        with open(path, "w") as f:
            f.write(new)
    print("readme: %s" % path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--plots", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--gnuplot", action="store_true")
    ap.add_argument("--readme", help="README.md, whose summary of the figures is written again")
    a = ap.parse_args()

    R = Results(*load(os.path.join(a.results, "results.csv")))
    machine = read_machine(os.path.join(a.results, "machine.txt"))
    disasm, _ = disasm_check(os.path.join(a.results, "refcount-disasm.txt"))
    try:
        disasm_lines = open(os.path.join(a.results, "refcount-disasm.txt")).read().rstrip().splitlines()
    except OSError:
        disasm_lines = []
    T = targets(R, a.results)

    for bench in BENCHES:
        if not R.order.get(bench):
            continue
        print()
        print("== " + TITLES[bench])
        print(text_table(*R.table(bench)))
    print()
    print("== Targets")
    print(text_table(["target", "measured (medians)", "ratio", "goal", ""], target_rows(T)))

    plots = make_plots(R, a.plots, a.gnuplot)
    document(R, T, machine, disasm_lines if disasm else [], plots, a.doc, a.root, a.results)
    if a.readme:
        update_readme(a.readme, readme_figures(R, T, machine))
    for p in plots:
        print("plot: %s" % p)


if __name__ == "__main__":
    main()
