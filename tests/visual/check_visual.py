#!/usr/bin/env python3
"""Checks of `rcgc replay --explain --why --dot --html` and of `make demo`.

    check_visual.py dot RCGC TRACE        the DOT files of tests/visual/dot.trace
    check_visual.py article RCGC TRACE    --explain and --why on the article's example
    check_visual.py explain RCGC SEED N TRACE...
                                          --explain against what the collector frees
    check_visual.py html RCGC TRACE       the page, in headless Chromium (77: none)
    check_visual.py cli RCGC              usage errors of the new options
    check_visual.py demo RCGC TOUR TRACE  what `make demo` runs

Expected values are written here from what each trace does (the comments
give the reasoning); none is copied from the program's output. The explain
check needs no expectations: every object gets a weak reference, and `deref`
before and after each collection tells which objects the collection freed,
which is compared with the unreachable set --explain worked out.
"""
import concurrent.futures
import html.parser
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

FAILURES = []


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg)


def expect(cond, msg):
    if not cond:
        fail(msg)
    return cond


def run(args, env=None, timeout=120):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout)


def trace_ops(path):
    """The operations of a trace, as --echo prints them."""
    ops = []
    with open(path) as f:
        for line in f:
            tokens = line.split("#", 1)[0].split()
            if tokens:
                ops.append(" ".join(tokens))
    return ops


def finish(name):
    if FAILURES:
        print("%s: %d failed checks" % (name, len(FAILURES)))
        return 1
    print("%s: all checks passed" % name)
    return 0


# ---------------------------------------------------------------------------
# DOT files
# ---------------------------------------------------------------------------

NODE_RE = re.compile(r'^  (r[0-9a-f]+) \[label="((?:[^"\\]|\\.)*)" class="([^"]*)" fillcolor="([^"]*)"(.*)\];$')
EDGE_RE = re.compile(r'^  (r[0-9a-f]+) -> (r[0-9a-f]+)( \[style=dashed class="weak"\])?;$')
GEN_FILL = {"gen0": "#fff3bf", "gen1": "#ffd8a8", "gen2": "#e5dbff", "permanent": "#a5d8ff", "untracked": "#f1f3f5"}


def parse_dot(text):
    """{name: {rc, where, classes, finalized, red}}, edges [(a, b, weak)], title."""
    lines = text.split("\n")
    assert lines[0] == "digraph rcgc {", lines[0]
    assert lines[-2:] == ["}", ""], lines[-2:]
    nodes, ids, edges = {}, {}, []
    title = ""
    for line in lines[1:-2]:
        m = NODE_RE.match(line)
        if m:
            ident, label, classes, fill, rest = m.groups()
            name, rc_line = label.split("\\n")
            rc, _, fin = rc_line.partition(", ")
            cls = classes.split()
            where = cls[0]
            assert GEN_FILL[where] == fill, line
            nodes[name] = {"rc": int(rc[3:]), "where": where, "classes": set(cls[1:]),
                           "finalized": fin == "finalized" and "peripheries=2" in rest,
                           "red": 'color="#c92a2a"' in rest}
            ids[ident] = name
            continue
        m = EDGE_RE.match(line)
        if m:
            edges.append((m.group(1), m.group(2), bool(m.group(3))))
            continue
        if line.startswith("  graph ["):
            title = line
            continue
        assert line.startswith("  node [") or line.startswith("  edge ["), line
    return nodes, sorted((ids[a], ids[b], w) for a, b, w in edges), title


def node(where, rc, *marks):
    return {"where": where, "rc": rc, "marks": set(marks)}


def check_dot(rcgc, trace):
    """tests/visual/dot.trace, step by step:
      1 new 1 slots=2      1 in generation 0, held by the trace: rc 1
      2 new 2              2 likewise
      3 set 1 0 2          1 -> 2; 2 has rc 2 (trace and 1)
      4 weak 5 2           the weak-reference object w5 (tracked, gen 0), dashed
                           w5 -> 2; a weak reference adds nothing to 2's count
      5 drop 2             2 rc 1
      6 collect 0          as found: all of gen 0, nothing unreachable (1 and w5
                           are held, 2 is reached from 1); after: all in gen 1
      7 new 3 fin slots=1  3 in gen 0
      8 set 3 0 3          3 -> 3, rc 2
      9 drop 3             rc 1: only its own reference
     10 new 4 resurrect slots=1
     11 set 4 0 4
     12 drop 4             4 rc 1, 4 -> 4
     13 set 1 1 1          1 -> 1 as well: rc 2
     14 collect 0          as found: 3 and 4 (gen 0) unreachable, 1, 2, w5 in gen 1;
                           after: 3 freed; 4 resurrected by its finalizer into
                           generation 1 (the collected one's successor), finalized,
                           rc 2 (itself and the saved list)
     15 freeze             everything tracked becomes permanent
    """
    out = tempfile.mkdtemp(prefix="rcgc-dot-")
    try:
        p = run([rcgc, "replay", "--dot", out, trace])
        expect(p.returncode == 0, "replay --dot exit status %d: %s" % (p.returncode, p.stderr))
        expect(p.stdout.decode() == "collect 0 0\nfin 3\nfin 4\ncollect 0 1\n",
               "replay --dot events: %r" % p.stdout.decode())
        g0, g1, perm = "gen0", "gen1", "permanent"
        e12 = [("1", "2", False)]
        ew = [("w5", "2", True)]
        steps = {
            1: ({"1": node(g0, 1)}, []),
            2: ({"1": node(g0, 1), "2": node(g0, 1)}, []),
            3: ({"1": node(g0, 1), "2": node(g0, 2)}, e12),
            4: ({"1": node(g0, 1), "2": node(g0, 2), "w5": node(g0, 1, "weakref")}, e12 + ew),
            5: ({"1": node(g0, 1), "2": node(g0, 1), "w5": node(g0, 1, "weakref")}, e12 + ew),
            "6-gc": ({"1": node(g0, 1), "2": node(g0, 1), "w5": node(g0, 1, "weakref")}, e12 + ew),
            6: ({"1": node(g1, 1), "2": node(g1, 1), "w5": node(g1, 1, "weakref")}, e12 + ew),
            9: ({"1": node(g1, 1), "2": node(g1, 1), "w5": node(g1, 1, "weakref"), "3": node(g0, 1)},
                e12 + ew + [("3", "3", False)]),
            12: ({"1": node(g1, 1), "2": node(g1, 1), "w5": node(g1, 1, "weakref"), "3": node(g0, 1),
                  "4": node(g0, 1)}, e12 + ew + [("3", "3", False), ("4", "4", False)]),
            13: ({"1": node(g1, 2), "2": node(g1, 1), "w5": node(g1, 1, "weakref"), "3": node(g0, 1),
                  "4": node(g0, 1)}, e12 + [("1", "1", False)] + ew + [("3", "3", False), ("4", "4", False)]),
            "14-gc": ({"1": node(g1, 2), "2": node(g1, 1), "w5": node(g1, 1, "weakref"),
                       "3": node(g0, 1, "unreachable"), "4": node(g0, 1, "unreachable")},
                      e12 + [("1", "1", False)] + ew + [("3", "3", False), ("4", "4", False)]),
            14: ({"1": node(g1, 2), "2": node(g1, 1), "w5": node(g1, 1, "weakref"),
                  "4": node(g1, 2, "finalized")}, e12 + [("1", "1", False)] + ew + [("4", "4", False)]),
            15: ({"1": node(perm, 2), "2": node(perm, 1), "w5": node(perm, 1, "weakref"),
                  "4": node(perm, 2, "finalized")}, e12 + [("1", "1", False)] + ew + [("4", "4", False)]),
        }
        ops = trace_ops(trace)
        files = sorted(os.listdir(out))
        dots = [f for f in files if f.endswith(".dot")]
        wanted = ["step-%04d.dot" % i for i in range(1, len(ops) + 1)] + ["step-0006-gc.dot", "step-0014-gc.dot"]
        expect(sorted(dots) == sorted(wanted), "DOT files: %s" % dots)
        svgs = [f for f in files if f.endswith(".svg")]
        if shutil.which("dot"):
            expect(sorted(svgs) == sorted(f[:-4] + ".svg" for f in wanted), "SVG files: %s" % svgs)
            svg = os.path.join(out, "step-0014-gc.svg")
            if expect(os.path.exists(svg), "step-0014-gc.svg exists"):
                with open(svg) as f:
                    expect('class="node gen0 unreachable"' in f.read(), "the SVG keeps the classes")
        else:
            expect(svgs == [], "SVG files without Graphviz: %s" % svgs)
        for step, (want_nodes, want_edges) in steps.items():
            name = "step-%04d.dot" % step if isinstance(step, int) else "step-%04d-gc.dot" % int(step[:-3])
            with open(os.path.join(out, name)) as f:
                nodes, edges, title = parse_dot(f.read())
            got = {n: {"where": v["where"], "rc": v["rc"],
                       "marks": v["classes"] | ({"finalized"} if v["finalized"] else set())}
                   for n, v in nodes.items()}
            expect(got == want_nodes, "%s nodes: %s, expected %s" % (name, got, want_nodes))
            expect(edges == sorted(want_edges), "%s edges: %s, expected %s" % (name, edges, sorted(want_edges)))
            for n, v in nodes.items():
                expect(v["red"] == ("unreachable" in v["classes"]), "%s: %s drawn red iff unreachable" % (name, n))
            number = step if isinstance(step, int) else int(step[:-3])
            expect("step %d: %s" % (number, ops[number - 1]) in title, "%s title: %s" % (name, title))
    finally:
        shutil.rmtree(out)
    return finish("dot")


# ---------------------------------------------------------------------------
# --explain output
# ---------------------------------------------------------------------------

ROW_RE = re.compile(r"^  (\S+) +(\d) +(\d+) +(\d+) +(\d+) +(-?\d+)  (.*)$")


def parse_explain(text):
    """The collections of an --explain run: a list of dicts with the rows,
    the unreachable list, the events during the collection, and the
    summary lines; plus the deref results seen after each operation."""
    collections = []
    cur = None
    section = None
    for line in text.split("\n"):
        if line.startswith("== collecting generation "):
            cur = {"generation": int(line.split()[3].rstrip(":")), "rows": [], "unreachable": None,
                   "events": [], "after": {}, "collect": None}
            collections.append(cur)
            section = "table"
            continue
        if cur is None:
            continue
        if section == "table":
            m = ROW_RE.match(line)
            if m and not line.startswith("  object"):
                name, gen, rc, copy, internal, gc_refs, verdict = m.groups()
                cur["rows"].append({"name": name, "gen": int(gen), "rc": int(rc), "copy": int(copy),
                                    "internal": int(internal), "gc_refs": int(gc_refs), "verdict": verdict})
            elif line.startswith("  unreachable ("):
                names = line.split(":", 1)[1].split()
                cur["unreachable"] = [] if names == ["none"] else names
                section = "events"
        elif section == "events":
            if line.startswith("  after collecting generation"):
                section = "after"
            elif line and not line.startswith(" "):
                cur["events"].append(line)
        elif section == "after":
            if line.startswith("    "):
                key, _, names = line.strip().partition(":")
                names = names.split()
                cur["after"][key] = [] if names == ["none"] else names
            else:
                m = re.match(r"^collect (\d) (-?\d+)$", line)
                if m:
                    cur["collect"] = int(m.group(2))
                section = None
    return collections


def check_table(c, where):
    """The arithmetic and the verdicts of one table."""
    ok = True
    by_name = {r["name"]: r for r in c["rows"]}
    for r in c["rows"]:
        ok &= expect(r["copy"] == r["rc"], "%s: %s gc_refs after the copy is RC" % (where, r["name"]))
        ok &= expect(r["gc_refs"] == r["rc"] - r["internal"], "%s: %s gc_refs = RC - internal" % (where, r["name"]))
        ok &= expect(r["gen"] <= c["generation"], "%s: %s comes from an examined generation" % (where, r["name"]))
        v = r["verdict"]
        if r["gc_refs"] > 0:
            ok &= expect(v == "yes: referenced from outside", "%s: %s verdict %r" % (where, r["name"], v))
        elif v.startswith("yes: rescued, "):
            via = v[len("yes: rescued, "):-len(" refers to it")]
            ok &= expect(via in by_name and not by_name[via]["verdict"].startswith("no"),
                         "%s: %s rescued by a reachable examined object (%s)" % (where, r["name"], via))
        else:
            ok &= expect(v == "no: unreachable", "%s: %s verdict %r" % (where, r["name"], v))
    unreachable = [r["name"] for r in c["rows"] if r["verdict"] == "no: unreachable"]
    ok &= expect(c["unreachable"] == unreachable, "%s: unreachable list %s vs rows %s" % (where, c["unreachable"],
                                                                                       unreachable))
    return ok


WEAK_BASE = 1000000


def instrument(ops):
    """Gives every object a weak reference W = 1000000 + ID and asks, before
    and after every collection, which of them are alive."""
    out = []
    alive = []
    for op in ops:
        t = op.split()
        out.append(op)
        if t[0] == "new":
            out.append("weak %d %s" % (WEAK_BASE + int(t[1]), t[1]))
            alive.append(int(t[1]))
        if t[0] == "collect":
            out.pop()
            derefs = ["deref %d" % (WEAK_BASE + i) for i in alive]
            out += derefs + [op] + derefs
    return out


def deref_run(lines, from_end):
    """The `deref` operations and results next to a collection: the run of
    them at the end of the lines before it, or at the start of those after
    it (up to the next other operation)."""
    seq = list(reversed(lines)) if from_end else lines
    found = []
    for line in seq:
        if line.startswith("> ") and not line.startswith("> deref "):
            break
        found.append(line)
    return found


def deref_state(lines):
    """{ID: alive?} from deref lines."""
    state = {}
    for line in lines:
        m = re.match(r"^deref (\d+) (\S+)$", line)
        if m and int(m.group(1)) >= WEAK_BASE:
            state[int(m.group(1)) - WEAK_BASE] = m.group(2) != "none"
    return state


def check_explain_run(rcgc, ops, name):
    """Runs the instrumented trace with --explain and checks every collection."""
    text = "\n".join(instrument(ops)) + "\n"
    plain = subprocess.run([rcgc, "replay", "-"], input=("\n".join(ops) + "\n").encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
    p = subprocess.run([rcgc, "replay", "--explain", "-"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    # A trace that ends on a malformed line on purpose fails the same way.
    if not expect(p.returncode == plain.returncode, "%s: exit status %d (%d without --explain): %s"
                  % (name, p.returncode, plain.returncode, p.stderr.decode())):
        return 0
    out = p.stdout.decode()
    collections = parse_explain(out)
    has_resurrect = any(" resurrect" in op for op in ops)
    has_unweak = any(op.startswith("unweak") for op in ops)
    # The deref blocks around each `> collect` line.
    blocks = re.split(r"^> collect \d+\n", out, flags=re.M)
    expect(len(blocks) - 1 == len(collections), "%s: one explanation per collect (%d, %d)"
           % (name, len(blocks) - 1, len(collections)))
    for k, c in enumerate(collections):
        where = "%s, collection %d" % (name, k + 1)
        if not check_table(c, where):
            continue
        before = deref_state(deref_run(blocks[k].split("\n"), True))
        after = deref_state(deref_run(blocks[k + 1].split("\n"), False))
        examined = {int(r["name"]) for r in c["rows"] if not r["name"].startswith("w")}
        unreachable = {int(n) for n in c["unreachable"] if not n.startswith("w")}
        # The collector clears the weak references to every object of its
        # unreachable set, resurrected or not, and an object that dies loses
        # its weak references too; an object whose weak reference was
        # cleared by an earlier collection (it was resurrected) cannot be
        # observed any more.
        observable = {i for i, a in before.items() if a}
        cleared = {i for i in observable if not after.get(i, True)}
        fins = {int(e.split()[1]) for e in c["events"] if e.startswith("fin ")}
        expect(cleared & examined == unreachable & observable, "%s: weak references cleared %s, unreachable %s"
               % (where, sorted(cleared & examined), sorted(unreachable & observable)))
        freed = {int(n) for n in c["after"].get("freed", []) if not n.startswith("w")}
        again = {int(n) for n in c["after"].get("resurrected (unreachable, alive again)", [])}
        expect(freed | again == unreachable and not freed & again, "%s: freed %s and resurrected %s split %s"
               % (where, freed, again, unreachable))
        # What is alive again joins the collection's survivors, in the next
        # generation (the oldest stays where it is).
        placed = {}
        for key, names in c["after"].items():
            m = re.match(r"^resurrected, now in generation (\d)$", key)
            if m:
                placed.update((n, int(m.group(1))) for n in names)
        expect(set(placed) == set(c["after"].get("resurrected (unreachable, alive again)", []))
               and all(g == min(c["generation"] + 1, 2) for g in placed.values()),
               "%s: resurrected %s, placed %s" % (where, c["after"].get("resurrected (unreachable, alive again)"),
                                                  placed))
        if has_resurrect:
            expect(not again or fins, "%s: %s alive again without any finalizer" % (where, again))
        else:
            expect(not again, "%s: resurrected without a resurrecting finalizer: %s" % (where, again))
        also = {int(n) for n in c["after"].get("also freed, by reference counting once the garbage let go", [])}
        expect(also & observable == cleared - examined, "%s: also freed %s, died outside the examined set %s"
               % (where, also, cleared - examined))
        expect("freed although reachable (the explanation is wrong)" not in c["after"], "%s: %s" % (where, c["after"]))
        if c["collect"] is not None and not has_resurrect and not has_unweak:
            expect(c["collect"] == len(c["unreachable"]), "%s: collect result %s vs %d unreachable"
                   % (where, c["collect"], len(c["unreachable"])))
    return len(collections)


def random_trace(rng, nops):
    """A trace of creations, stores, drops, weak references and collections
    (no `gc on`: every collection is an explicit one)."""
    ops, held, nxt, weak_next, weaks = [], [], 1, 1, []
    for _ in range(nops):
        r = rng.random()
        if r < 0.25 or not held:
            kind = rng.choice(["", "", " fin", " resurrect"])
            ops.append("new %d%s slots=%d" % (nxt, kind, rng.randint(1, 3)))
            held.append((nxt, int(ops[-1].split("slots=")[1])))
            nxt += 1
        elif r < 0.6:
            a, b = rng.choice(held), rng.choice(held)
            ops.append("set %d %d %d" % (a[0], rng.randrange(a[1]), b[0]))
        elif r < 0.7:
            a = rng.choice(held)
            ops.append("clear %d %d" % (a[0], rng.randrange(a[1])))
        elif r < 0.83:
            a = held.pop(rng.randrange(len(held)))
            ops.append("drop %d" % a[0])
        elif r < 0.87:
            a = rng.choice(held)
            ops.append("weak %d %d%s" % (weak_next, a[0], rng.choice(["", " cb"])))
            weaks.append(weak_next)
            weak_next += 1
        elif r < 0.89:
            ops.append("unsave")
        else:
            ops.append("collect %d" % rng.choice([0, 0, 1, 2]))
    return ops


def check_explain(rcgc, seed, count, traces):
    total = 0
    for path in traces:
        ops = [op for op in trace_ops(path) if op.split()[0] != "gc"]
        total += check_explain_run(rcgc, ops, os.path.basename(path))
    rng = random.Random(seed)
    for i in range(count):
        total += check_explain_run(rcgc, random_trace(rng, 120), "random trace %d (seed %d)" % (i, seed))
    print("checked %d collections" % total)
    expect(total > count, "enough collections were checked")
    return finish("explain")


def check_article(rcgc, trace):
    """examples/article-cycle.trace, worked out by hand.

    collect 0 examines generation 0: 2 (made at line 'new 2'), w1, 3, 4.
      2: only its own reference (the name was dropped): RC 1, 1 internal, 0.
      w1: held by the trace, nothing refers to it: RC 1, 0, gc_refs 1.
      3: the trace's name and 4's slot: RC 2, 1 internal, gc_refs 1.
      4: 3's slot only: RC 1, 1 internal, 0; rescued because 3 refers to it.
      Unreachable: 2. w1's callback runs, then 2's finalizer; 2 is freed;
      w1, 3, 4 go to generation 1. collect prints 1.
    collect 1 examines generations 0..1: 3, 4, w1 (3's name was dropped).
      3: 4's slot: RC 1, 1 internal, 0; 4: 3's slot: RC 1, 1, 0; w1: RC 1, 0, 1.
      Unreachable: 3 and 4, freed; w1 stays, now in generation 2. collect prints 2.
    """
    p = run([rcgc, "replay", "--explain", trace])
    expect(p.returncode == 0, "article: exit status %d" % p.returncode)
    c = parse_explain(p.stdout.decode())
    if not expect(len(c) == 2, "article: two collections, got %d" % len(c)):
        return finish("article")
    rows0 = {r["name"]: (r["gen"], r["rc"], r["internal"], r["gc_refs"], r["verdict"]) for r in c[0]["rows"]}
    expect(rows0 == {
        "2": (0, 1, 1, 0, "no: unreachable"),
        "w1": (0, 1, 0, 1, "yes: referenced from outside"),
        "3": (0, 2, 1, 1, "yes: referenced from outside"),
        "4": (0, 1, 1, 0, "yes: rescued, 3 refers to it"),
    }, "article, collect 0: %s" % rows0)
    expect([r["name"] for r in c[0]["rows"]] == ["2", "w1", "3", "4"], "article: generation 0 in creation order")
    expect(c[0]["unreachable"] == ["2"], "article: unreachable %s" % c[0]["unreachable"])
    expect(c[0]["events"] == ["cb 1", "fin 2"], "article: events %s" % c[0]["events"])
    a0 = c[0]["after"]
    expect(a0.get("weak-reference callbacks run") == ["w1"] and a0.get("finalizers run") == ["2"]
           and a0.get("freed") == ["2"] and a0.get("resurrected (unreachable, alive again)") == []
           and sorted(a0.get("survivors now in generation 1", [])) == ["3", "4", "w1"], "article after 0: %s" % a0)
    expect(c[0]["collect"] == 1, "article: collect 0 result")
    rows1 = {r["name"]: (r["gen"], r["rc"], r["internal"], r["gc_refs"], r["verdict"]) for r in c[1]["rows"]}
    expect(rows1 == {
        "3": (1, 1, 1, 0, "no: unreachable"),
        "4": (1, 1, 1, 0, "no: unreachable"),
        "w1": (1, 1, 0, 1, "yes: referenced from outside"),
    }, "article, collect 1: %s" % rows1)
    a1 = c[1]["after"]
    expect(sorted(a1.get("freed", [])) == ["3", "4"] and a1.get("survivors now in generation 2") == ["w1"],
           "article after 1: %s" % a1)
    expect(c[1]["collect"] == 2, "article: collect 1 result")

    # --why 4 after each of the 15 operations: not there before `new 4`
    # (op 8); held by its name until `drop 4` (op 11); then 3 (held) refers
    # to it; after `drop 3` (op 14) only the cycle holds it; collect 1 frees it.
    p = run([rcgc, "replay", "--why", "4", trace])
    whys = [l for l in p.stdout.decode().split("\n") if l.startswith("why ")]
    garbage = "why 4: no outside reference reaches it (garbage: a full collection frees it)"
    expect(whys == ["why 4: not alive"] * 7 + ["why 4: 4"] * 3 + ["why 4: 3 -> 4"] * 3 + [garbage, "why 4: not alive"],
           "article --why 4: %s" % whys)
    # --why 2: made at op 3, its own name until `drop 2` (op 6), then garbage
    # held by its own reference until collect 0 (op 12) frees it.
    p = run([rcgc, "replay", "--why", "2", trace])
    whys = [l for l in p.stdout.decode().split("\n") if l.startswith("why ")]
    expect(whys == ["why 2: not alive"] * 2 + ["why 2: 2"] * 3 + [garbage.replace("4", "2", 1)] * 6
           + ["why 2: not alive"] * 4, "article --why 2: %s" % whys)
    return finish("article")


# ---------------------------------------------------------------------------
# The page, in a browser
# ---------------------------------------------------------------------------

VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "embed", "source", "track", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, pred):
        for c in self.children:
            if isinstance(c, Element):
                if pred(c):
                    yield c
                yield from c.find_all(pred)

    def classes(self):
        return set(self.attrs.get("class", "").split())


class TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs, self.cur)
        self.cur.children.append(e)
        if tag not in VOID:
            self.cur = e

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Element(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        e = self.cur
        while e is not None and e.tag != tag:
            e = e.parent
        if e is not None and e.parent is not None:
            self.cur = e.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(text):
    b = TreeBuilder()
    b.feed(text)
    b.close()
    return b.root


def find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(browser, url, profile):
    p = run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile,
             "--virtual-time-budget=3000", "--dump-dom", url], timeout=120)
    return p.stdout.decode("utf-8", "replace")


def node_names(svg):
    """The first line of every object node's label in an <svg>."""
    names = set()
    for g in svg.find_all(lambda e: e.tag == "g" and "node" in e.classes()):
        texts = [t.text().strip() for t in g.find_all(lambda e: e.tag == "text")]
        if texts:
            names.add(texts[0])
    return names


def unreachable_names(svg):
    names = set()
    for g in svg.find_all(lambda e: e.tag == "g" and "unreachable" in e.classes()):
        texts = [t.text().strip() for t in g.find_all(lambda e: e.tag == "text")]
        names.add(texts[0])
    return names


def events_by_step(rcgc, trace):
    """What plain `rcgc replay --echo` prints under each operation."""
    p = run([rcgc, "replay", "--echo", trace])
    steps = []
    for line in p.stdout.decode().split("\n"):
        if line.startswith("> "):
            steps.append([line])
        elif line:
            steps[-1].append(line)
    return steps


def check_page(browser, page, ops, events, renderer, tmp):
    n = len(ops)
    # key presses -> expected step: right moves on, left back, both stop at the ends.
    cases = [("", 1), ("#keys=RRRR", 5), ("#keys=ELLL", n - 3), ("#step=12", 12), ("#keys=EHLL", 1),
             ("#keys=ERR", n), ("#step=3&keys=RL", 3)]
    # Chromium starts slowly: load the page in every state at once, each
    # with a profile of its own.
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        doms = list(pool.map(lambda k: dump_dom(browser, "file://" + page + cases[k][0],
                                                os.path.join(tmp, "profile-%s-%d" % (renderer[0], k))),
                             range(len(cases))))
    dom12 = None
    for (frag, want), text in zip(cases, doms):
        dom = parse_html(text)
        if frag == "#step=12":
            dom12 = dom
        body = next(dom.find_all(lambda e: e.tag == "body"), None)
        if not expect(body is not None, "%s %s: no body" % (renderer, frag)):
            continue
        expect(body.attrs.get("data-step") == str(want), "%s %s: data-step %s, expected %d"
               % (renderer, frag, body.attrs.get("data-step"), want))
        frames = list(dom.find_all(lambda e: e.tag == "section" and "frame" in e.classes()))
        expect(len(frames) == n, "%s: %d frames for %d operations" % (renderer, len(frames), n))
        shown = [f for f in frames if "hidden" not in f.attrs]
        if not expect(len(shown) == 1, "%s %s: %d frames shown" % (renderer, frag, len(shown))):
            continue
        f = shown[0]
        expect(f.attrs.get("data-step") == str(want), "%s %s: frame %s shown" % (renderer, frag, f.attrs.get("data-step")))
        op = next(f.find_all(lambda e: e.tag == "code"), None)
        expect(op is not None and op.text() == ops[want - 1], "%s %s: operation %r, expected %r"
               % (renderer, frag, op.text() if op else None, ops[want - 1]))
        pre = next(f.find_all(lambda e: e.tag == "pre"), None)
        lines = [l for l in (pre.text() if pre else "").split("\n")
                 if l and not l.startswith("==") and not l.startswith("  ")]
        expect(lines == events[want - 1], "%s %s: events %s, expected %s" % (renderer, frag, lines, events[want - 1]))
        position = next(dom.find_all(lambda e: e.attrs.get("id") == "position"), None)
        expect(position is not None and position.text() == "step %d of %d" % (want, n),
               "%s %s: position %r" % (renderer, frag, position.text() if position else None))
    # The pictures of the article's first collection (op 12): as found, 2 is
    # unreachable among 2, w1, 3, 4; afterwards w1, 3, 4 remain.
    dom = dom12
    frame = next(dom.find_all(lambda e: e.attrs.get("id") == "step-12"), None)
    if expect(frame is not None, "%s: frame 12" % renderer):
        gc = next(frame.find_all(lambda e: e.tag == "figure" and "gc" in e.classes()), None)
        after = next(frame.find_all(lambda e: e.tag == "figure" and "after" in e.classes()), None)
        if expect(gc is not None and after is not None, "%s: frame 12 has both pictures" % renderer):
            gsvg = next(gc.find_all(lambda e: e.tag == "svg"), None)
            asvg = next(after.find_all(lambda e: e.tag == "svg"), None)
            expect(gsvg is not None and node_names(gsvg) == {"2", "w1", "3", "4"},
                   "%s: collection picture nodes %s" % (renderer, gsvg and node_names(gsvg)))
            expect(gsvg is not None and unreachable_names(gsvg) == {"2"}, "%s: unreachable %s"
                   % (renderer, gsvg and unreachable_names(gsvg)))
            expect(asvg is not None and node_names(asvg) == {"w1", "3", "4"}, "%s: after nodes %s"
                   % (renderer, asvg and node_names(asvg)))
    frame = next(dom.find_all(lambda e: e.attrs.get("id") == "step-5"), None)
    if expect(frame is not None, "%s: frame 5" % renderer):
        figs = list(frame.find_all(lambda e: e.tag == "figure"))
        expect(len(figs) == 1, "%s: an operation without collection has one picture" % renderer)
        svg = next(figs[0].find_all(lambda e: e.tag == "svg"), None) if figs else None
        expect(svg is not None and node_names(svg) == {"2", "w1"}, "%s: frame 5 nodes %s"
               % (renderer, svg and node_names(svg)))
    help_text = next(dom.find_all(lambda e: "help" in e.classes()), None)
    expect(help_text is not None and renderer in help_text.text(), "%s: the page names its renderer" % renderer)


def check_html(rcgc, trace):
    browser = find_browser()
    if browser is None:
        print("SKIP: no Chromium found (apt-get install chromium) to check the --html page in")
        return 77
    ops = trace_ops(trace)
    events = events_by_step(rcgc, trace)
    expect(len(events) == len(ops), "one event block per operation")
    tmp = tempfile.mkdtemp(prefix="rcgc-html-")
    try:
        # The built-in layout: a PATH without Graphviz.
        nodot = os.path.join(tmp, "bin")
        os.mkdir(nodot)
        env = dict(os.environ, PATH=nodot)
        page = os.path.join(tmp, "builtin.html")
        p = run([os.path.abspath(rcgc), "replay", "--explain", "--html", page, trace], env=env)
        expect(p.returncode == 0, "--html (built-in layout): status %d %s" % (p.returncode, p.stderr))
        check_page(browser, page, ops, events, "built-in layout", tmp)
        if shutil.which("dot"):
            page = os.path.join(tmp, "graphviz.html")
            p = run([rcgc, "replay", "--explain", "--html", page, trace])
            expect(p.returncode == 0, "--html (Graphviz): status %d %s" % (p.returncode, p.stderr))
            check_page(browser, page, ops, events, "Graphviz", tmp)
        else:
            print("note: Graphviz is not installed: only the built-in layout was checked")
    finally:
        shutil.rmtree(tmp)
    return finish("html")


# ---------------------------------------------------------------------------
# Usage errors and the demo
# ---------------------------------------------------------------------------

def check_graphviz_fails(rcgc, tmp):
    """A `dot` on PATH that fails (Graphviz without its SVG plugin): the
    replay runs to the end, says so once, and goes on without it: DOT files
    without SVG, the page drawn by the built-in layout."""
    bindir = os.path.join(tmp, "faildot")
    os.mkdir(bindir)
    with open(os.path.join(bindir, "dot"), "w") as f:
        f.write("#!/bin/sh\nexit 1\n")
    os.chmod(os.path.join(bindir, "dot"), 0o755)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    trace = os.path.join(tmp, "cycle.trace")
    with open(trace, "w") as f:
        f.write("new 1\nset 1 0 1\ndrop 1\ncollect 2\n")
    dots = os.path.join(tmp, "dots")
    page = os.path.join(tmp, "faildot.html")
    p = run([rcgc, "replay", "--dot", dots, "--html", page, trace], env=env)
    stderr = p.stderr.decode()
    expect(p.returncode == 0 and p.stdout.decode() == "collect 2 1\n",
           "failing dot: status %d, stdout %r, stderr %r" % (p.returncode, p.stdout, stderr))
    expect(len(stderr.splitlines()) == 1 and stderr.startswith("rcgc: dot -Tsvg failed on "),
           "failing dot: one warning, not %r" % stderr)
    files = sorted(os.listdir(dots)) if os.path.isdir(dots) else []
    expect(files == ["step-0001.dot", "step-0002.dot", "step-0003.dot", "step-0004-gc.dot", "step-0004.dot"],
           "failing dot: the DOT files without SVG, not %s" % files)
    text = open(page).read() if os.path.exists(page) else ""
    expect(text.count('<section class="frame"') == 4 and text.count("<svg") >= 5,
           "failing dot: a page of 4 frames drawn by the built-in layout")


def check_page_of_stopped_trace(rcgc, tmp):
    """A trace with a mistake on line 4: the page is still written, with the
    three operations before it and the error it stopped at, which standard
    error gives too."""
    trace = os.path.join(tmp, "stops.trace")
    with open(trace, "w") as f:
        f.write("new 1\nnew 2\nset 1 0 2\nset 9 0 1\nnew 3\n")
    page = os.path.join(tmp, "stops.html")
    p = run([rcgc, "replay", "--html", page, trace])
    stderr = p.stderr.decode()
    expect(p.returncode == 2 and stderr.startswith("trace:4: "), "stopped page: status %d, stderr %r"
           % (p.returncode, stderr))
    text = open(page).read() if os.path.exists(page) else ""
    ops = re.findall(r'<h2>Step \d+ of \d+: <code class="op">([^<]*)</code>', text)
    expect(ops == ["new 1", "new 2", "set 1 0 2"], "stopped page: frames %s" % ops)
    m = re.search(r'<p class="stopped">[^<]*<code>([^<]*)</code>', text)
    expect(m is not None and html.unescape(m.group(1)) == stderr.strip(),
           "stopped page: the error %r" % (m.group(1) if m else None))


def check_cli(rcgc):
    tmp = tempfile.mkdtemp(prefix="rcgc-cli-")
    try:
        trace = os.path.join(tmp, "t.trace")
        with open(trace, "w") as f:
            f.write("new 1\n")
        cases = [
            (["--why"], r"rcgc: replay: missing the value of --why\nusage: "),
            (["--dot"], r"rcgc: replay: missing the value of --dot\nusage: "),
            (["--html"], r"rcgc: replay: missing the value of --html\nusage: "),
            (["--why", "x", trace], r"rcgc: replay: --why needs an object ID \(1\.\.2147483647\), not x\n"),
            (["--why", "0", trace], r"rcgc: replay: --why needs an object ID"),
            (["--why", "2147483648", trace], r"rcgc: replay: --why needs an object ID"),
            (["--dot", os.path.join(tmp, "no", "such"), trace], r"rcgc: cannot create .*no/such: "),
            (["--dot", trace, trace], r"rcgc: cannot create .*t\.trace: Not a directory\n\Z"),
            (["--html", os.path.join(tmp, "no", "x.html"), trace], r"rcgc: cannot write .*no/x\.html: "),
        ]
        for args, err in cases:
            p = run([rcgc, "replay", "--echo"] + args)
            stderr = p.stderr.decode()
            # Each is found before the first operation runs: nothing echoed.
            expect(p.returncode == 2 and re.match(err, stderr) and p.stdout == b"",
                   "rcgc replay %s: status %d, stdout %r, stderr %r" % (" ".join(args), p.returncode, p.stdout, stderr))
        check_graphviz_fails(rcgc, tmp)
        check_page_of_stopped_trace(rcgc, tmp)
        p = run([rcgc, "replay", "--help"])
        usage = p.stdout.decode()
        for option in ("--echo", "--explain", "--why ID", "--dot DIR", "--html FILE"):
            expect(option in usage, "the usage mentions %s" % option)
        # --why on an object the trace never made, and --explain without collections.
        p = run([rcgc, "replay", "--why", "7", "--explain", trace])
        expect(p.returncode == 0 and p.stdout.decode() == "> new 1\nwhy 7: not alive\n",
               "--why 7: %r" % p.stdout.decode())
    finally:
        shutil.rmtree(tmp)
    return finish("cli")


def check_demo(rcgc, tour, trace):
    p = run([tour])
    out = p.stdout.decode()
    expect(p.returncode == 0, "tour exit status %d" % p.returncode)
    for section in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5."):
        expect(section in out, "the tour has section %s" % section)
    tail = out[out.index("== 5."):] if "== 5." in out else ""
    # The article's self-referencing object after a = 0: RC 1, 1 internal, gc_refs 0.
    expect("RC 1 - 1 internal = gc_refs 0: unreachable" in tail, "the tour's gc_refs arithmetic")
    expect("RC 1 - 0 internal = gc_refs 1: reachable" in tail, "the tour's reachable object")
    expect("rcgc replay --explain --dot DIR examples/article-cycle.trace" in tail, "the tour points to the replay")
    # A chain kept alive with automatic collection on: a collection every
    # 701 containers; generation 1's counter passes its threshold 10 at the
    # 11th, so the 12th collects generation 1; after 11 of those (the 132nd
    # collection) generation 2's counter is 11, and the 133rd collects
    # generation 2 (the long-lived rule allows it: the heap was empty after
    # the last full collection). At #5000, 7 collections have run (the last
    # at #4907) and 93 containers came after it.
    expect("container #8412: generation 1 collected; just before, get_count() was (700, 11, 0)" in out,
           "the tour's first collection of generation 1")
    expect("container #93233: generation 2 collected; just before, get_count() was (700, 0, 11)" in out,
           "the tour's first collection of generation 2")
    expect("get_count() after container #5000              (93, 7, 0)" in out, "the tour's count at #5000")
    tmp = tempfile.mkdtemp(prefix="rcgc-demo-")
    try:
        demo = os.path.join(tmp, "demo")
        os.mkdir(demo)
        p = run([rcgc, "replay", "--explain", "--dot", demo, trace])
        expect(p.returncode == 0, "the demo's replay: %d %s" % (p.returncode, p.stderr))
        ops = trace_ops(trace)
        files = set(os.listdir(demo))
        expect(all("step-%04d.dot" % i in files for i in range(1, len(ops) + 1)), "a picture per operation")
        expect(p.stdout.decode().count("== collecting generation") == 2, "two collections explained")
    finally:
        shutil.rmtree(tmp)
    return finish("demo")


def main(argv):
    if len(argv) >= 4 and argv[1] == "dot":
        return check_dot(argv[2], argv[3])
    if len(argv) >= 4 and argv[1] == "article":
        return check_article(argv[2], argv[3])
    if len(argv) >= 5 and argv[1] == "explain":
        return check_explain(argv[2], int(argv[3]), int(argv[4]), argv[5:])
    if len(argv) >= 4 and argv[1] == "html":
        return check_html(argv[2], argv[3])
    if len(argv) >= 3 and argv[1] == "cli":
        return check_cli(argv[2])
    if len(argv) >= 5 and argv[1] == "demo":
        return check_demo(argv[2], argv[3], argv[4])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
