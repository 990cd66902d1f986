#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz_graph target into fuzz/corpus/graph/.

The inputs use the encoding that fuzz/fuzz_graph.c decodes: two header bytes
(collector settings, memory failure), then operations, each an opcode byte
followed by its argument bytes. The scenarios below are the shapes the
collector has to get right (cycles, rings, resurrection, finalizers that cut
or save references, weak references with and without callbacks, freeze,
generations, automatic collection, large objects, allocation failure, and
objects of types without hooks, whose releases and collections take the
library's plain paths); a few inputs of seeded random bytes follow. Objects
are chosen the way the harness chooses them (an index into the list of
objects reachable from its roots, a position in its array of roots), so the
script keeps that part of the harness's state: it only picks objects while
everything it made is still reachable, and follows the roots array through
drops.

    python3 fuzz/make_graph_corpus.py [OUTPUT_DIR]
"""
import os
import random
import sys

# Opcodes (the value modulo 16 of an operation byte).
NEW, LEAF, SET, DROP, DUP, WEAK, WEAK_DROP, WEAK_GET, COLLECT, FREEZE, GC, UNSAVE = (
    0, 2, 3, 6, 8, 9, 10, 11, 12, 13, 14, 15)
FIN_NONE, FIN_RECORD, FIN_RESURRECT, FIN_CLEAR0, FIN_SAVE0 = range(5)
PLAIN = 128              # new's type argument from 128 up: a type without hooks,
PLAIN_TRAVERSE = 192     # whose fields the heap reads from a table, or with traverse
# Type arguments of containers whose slots the heap reads as entries of two
# (rcgc_set_type_entries; an even number of slots): with a destroy, then
# plain (reversed); and with a hash before each pair: with a destroy, plain,
# plain and reversed.
ENTRIES, PLAIN_ENTRIES = 20, 133
HASHED, PLAIN_HASHED, PLAIN_HASHED_REVERSED = 60, 141, 143
CB_NONE, CB_RECORD, CB_DROP = range(3)
UNTRACKED = 128          # new's slots argument with bit 7 set: made untracked
NULL_TARGET = 7          # set's third argument with value % 8 == 7 stores NULL
LARGE = 7                # new's size argument % 8 == 7: a large object
PAGE_PADDED = 6          # ... == 6: 4 to 7 KiB, by (size >> 3) & 3
PADDED = 5               # ... == 5: up to 496 bytes more


def settings(auto=False, t0=0, t1=0, t2_small=False):
    return (1 if auto else 0) | (t0 & 15) << 1 | (t1 & 3) << 5 | (128 if t2_small else 0)


class Graph:
    """Builds one input, tracking what the harness will see."""

    def __init__(self, auto=False, t0=0, t1=0, t2_small=False, fault=0, debug=False):
        self.out = bytearray([settings(auto, t0, t1, t2_small), fault | (1 if debug else 0)])
        self.slots = []          # per object: number of slots
        self.edges = []          # per object: list of slot targets (or None)
        self.roots = []          # the harness's roots array
        self.weaks = 0

    def _reachable(self, with_slots=False):
        seen = set(self.roots)
        stack = list(self.roots)
        while stack:
            for t in self.edges[stack.pop()]:
                if t is not None and t not in seen:
                    seen.add(t)
                    stack.append(t)
        return [i for i in sorted(seen) if not with_slots or self.slots[i] > 0]

    def _pick(self, i, with_slots=False):
        lst = self._reachable(with_slots)
        assert i in lst, "object %d is not reachable" % i
        return lst.index(i)

    def new(self, nslots=2, fin=FIN_NONE, size=0, untracked=False):
        self.out += bytes([NEW, nslots | (UNTRACKED if untracked else 0), fin, size])
        self.slots.append(nslots)
        self.edges.append([None] * nslots)
        self.roots.append(len(self.slots) - 1)
        return len(self.slots) - 1

    def leaf(self, fin=FIN_NONE, size=0):
        self.out += bytes([LEAF, fin, size])
        self.slots.append(0)
        self.edges.append([])
        self.roots.append(len(self.slots) - 1)
        return len(self.slots) - 1

    def set(self, a, slot, b):
        args = [self._pick(a, True), slot]
        pad = None
        if b is None:
            args.append(NULL_TARGET)
        else:
            # The harness takes a value with value % 8 == 7 as NULL: use
            # another value that picks the same object.
            n = len(self._reachable())
            value = self._pick(b)
            if value % 8 == NULL_TARGET and n % 8 == 0:
                # No value picks it among a multiple of 8: one more object
                # (a leaf without hooks, last in the list, dropped after the
                # store) makes the count odd.
                pad = self.leaf(PLAIN)
                n += 1
            while value % 8 == NULL_TARGET and value < 256:
                value += n
            assert value < 256, "object %d cannot be picked among %d" % (b, n)
            args.append(value)
        self.out += bytes([SET] + args)
        self.edges[a][slot] = b
        if pad is not None:
            self.drop(pad)

    def drop(self, *objs):
        for i in objs:
            k = self.roots.index(i)
            self.out += bytes([DROP, k])
            self.roots[k] = self.roots[-1]
            self.roots.pop()

    def dup(self, i):
        self.out += bytes([DUP, self._pick(i)])
        self.roots.append(i)

    def weak(self, i, cb=CB_NONE):
        self.out += bytes([WEAK, self._pick(i), cb])
        self.weaks += 1
        return self.weaks - 1

    def raw(self, *values):
        self.out += bytes(values)

    def gc(self, auto, t0, t1, t2):
        self.raw(GC, (1 if auto else 0) | (t0 & 15) << 1, (t1 & 3) | (t2 & 3) << 2)

    def collect(self, g):
        self.raw(COLLECT, g)

    def cycle(self, n, fin=FIN_NONE, nslots=1):
        objs = [self.new(nslots, fin) for _ in range(n)]
        for k, o in enumerate(objs):
            self.set(o, 0, objs[(k + 1) % n])
        return objs


def scenarios():
    s = {}

    g = Graph()
    a, b = g.cycle(2)
    g.drop(a)
    g.drop(b)
    g.collect(0)
    g.collect(2)
    s["two-node-cycle"] = g

    g = Graph()
    a = g.new(1, FIN_RECORD)
    g.set(a, 0, a)
    g.weak(a, CB_RECORD)
    g.drop(a)
    g.collect(0)
    s["self-loop-finalizer"] = g

    g = Graph(debug=True)
    ring = g.cycle(10, FIN_RECORD)
    for o in ring:
        g.drop(o)
    g.collect(2)
    s["ring-of-10"] = g

    g = Graph()
    a = g.new(1, FIN_RESURRECT)
    g.set(a, 0, a)
    g.weak(a, CB_RECORD)
    g.weak(a, CB_NONE)
    g.drop(a)
    g.collect(2)
    g.raw(WEAK_GET, 0, WEAK_GET, 1)
    g.raw(UNSAVE)
    g.collect(2)
    s["resurrect-once"] = g

    g = Graph()
    a = g.new(2, FIN_RESURRECT)
    b = g.new(2, FIN_RECORD)
    c = g.new(1, FIN_RECORD)
    g.set(a, 0, b)
    g.set(b, 0, c)
    g.set(c, 0, a)
    g.set(b, 1, b)
    for o in (a, b, c):
        g.weak(o, CB_RECORD)
        g.drop(o)
    g.collect(1)
    g.collect(2)
    g.raw(UNSAVE)
    g.collect(2)
    s["resurrection-is-transitive"] = g

    g = Graph()
    a = g.new(2, FIN_CLEAR0)
    b = g.new(1, FIN_RECORD)
    c = g.new(1, FIN_RECORD)
    g.set(a, 0, b)
    g.set(a, 1, a)
    g.set(b, 0, c)
    g.set(c, 0, a)
    for o in (a, b, c):
        g.drop(o)
    g.collect(2)
    s["finalizer-cuts-cycle"] = g

    g = Graph()
    a = g.new(1, FIN_SAVE0)
    b = g.new(2, FIN_RECORD)
    c = g.new(1, FIN_NONE)
    g.set(a, 0, b)
    g.set(b, 0, a)
    g.set(b, 1, c)
    g.set(c, 0, c)
    for o in (a, b, c):
        g.drop(o)
    g.collect(0)
    g.collect(2)
    g.raw(UNSAVE)
    g.collect(2)
    s["finalizer-saves-partner"] = g

    g = Graph()
    a, b = g.cycle(2, FIN_RECORD)
    g.weak(a, CB_DROP)
    g.weak(b, CB_DROP)
    g.weak(a, CB_RECORD)
    g.drop(a)
    g.drop(b)
    g.collect(2)
    s["callback-drops-its-weakref"] = g

    g = Graph()
    a, b = g.cycle(2)
    g.weak(a, CB_RECORD)
    g.drop(a)
    g.drop(b)
    g.raw(WEAK_GET, 0)
    g.collect(2)
    g.raw(DROP, 0)
    g.collect(2)
    s["weakref-revives-garbage"] = g

    g = Graph()
    a, b = g.cycle(2, FIN_RECORD)
    g.raw(FREEZE, 1)
    g.drop(a)
    g.drop(b)
    g.collect(2)
    g.raw(FREEZE, 0)
    g.collect(1)
    g.collect(2)
    s["frozen-cycle"] = g

    g = Graph(auto=True, t0=2, t1=1, t2_small=True, debug=True)
    for _ in range(6):
        a, b = g.cycle(2, FIN_RECORD)
        g.drop(a)
        g.drop(b)
        c = g.new(1, FIN_RESURRECT)
        g.set(c, 0, c)
        g.drop(c)
    g.raw(UNSAVE)
    s["automatic-small-thresholds"] = g

    g = Graph()
    keep = [g.new(1) for _ in range(12)]
    g.collect(2)
    g.gc(True, 1, 0, 1)
    for _ in range(16):
        o = g.new(1, FIN_RECORD)
        g.set(o, 0, o)
        g.set(keep[0], 0, o)
        g.drop(o)
    g.collect(2)
    for _ in range(8):
        o = g.new(0)
        g.drop(o)
    s["automatic-long-lived-rule"] = g

    g = Graph(auto=True, t0=3, t1=0)
    keep = g.new(4)
    for k in range(4):
        o = g.new(1, FIN_RECORD)
        g.set(keep, k, o)
        g.set(o, 0, keep)
        g.drop(o)
    g.drop(keep)
    for _ in range(8):
        g.leaf()
    s["automatic-young-collections"] = g

    g = Graph()
    a, b = g.cycle(2)
    g.collect(0)
    g.collect(0)
    c = g.new(1, FIN_RECORD)
    g.set(c, 0, a)
    g.drop(a)
    g.drop(b)
    g.collect(0)
    g.drop(c)
    g.collect(0)
    g.collect(1)
    g.collect(2)
    s["old-garbage-needs-older-collection"] = g

    g = Graph()
    a = g.new(1, FIN_RECORD)
    g.collect(0)
    b = g.new(1)
    g.set(b, 0, b)
    g.set(b, 0, a)
    g.set(a, 0, b)
    g.drop(a)
    g.collect(1)
    g.drop(b)
    g.collect(0)
    g.collect(2)
    s["young-trash-holds-old"] = g

    g = Graph()
    a = g.new(3, FIN_RECORD)
    l1 = g.leaf(FIN_RECORD)
    l2 = g.leaf(FIN_RESURRECT)
    g.set(a, 0, l1)
    g.set(a, 1, l2)
    g.set(a, 2, a)
    g.weak(l1, CB_RECORD)
    g.weak(l2, CB_RECORD)
    g.drop(l1)
    g.drop(l2)
    g.drop(a)
    g.collect(2)
    g.raw(UNSAVE)
    s["leaves-with-finalizers"] = g

    g = Graph()
    a = g.new(2, FIN_RECORD, size=LARGE | 3 << 3)
    b = g.new(2, FIN_NONE, size=PAGE_PADDED | 9 << 3)
    c = g.leaf(FIN_NONE, size=LARGE)
    g.set(a, 0, b)
    g.set(b, 0, a)
    g.set(b, 1, c)
    g.drop(c)
    g.drop(a)
    g.drop(b)
    g.collect(2)
    d = g.new(1, FIN_NONE, size=LARGE | 31 << 3)
    g.drop(d)
    s["large-objects"] = g

    g = Graph(auto=True, t0=15)
    small = [g.new(1, FIN_NONE, size=PADDED | k << 3) for k in range(0, 32, 2)]
    objs = []
    for k in range(78):
        size = PAGE_PADDED | (3 if k < 66 else k % 4) << 3
        objs.append(g.new(1 + k % 8, FIN_RECORD if k % 5 == 0 else FIN_NONE, size=size))
    for k in range(0, 78, 3):
        g.set(objs[k], 0, objs[(k + 30) % 78])
    for k in (list(range(0, 78, 2)) + list(range(1, 78, 2))):
        g.drop(objs[k])
    g.collect(2)
    for o in small[::2]:
        g.drop(o)
    for k in range(20):
        g.new(2, FIN_NONE, size=PAGE_PADDED | (k % 4) << 3)
    s["pages-filled-and-released"] = g

    g = Graph()
    a, b = g.cycle(2)
    g.dup(a)
    g.dup(a)
    g.drop(a)
    g.drop(b)
    g.collect(2)
    g.drop(a)
    g.collect(2)
    g.drop(a)
    g.collect(2)
    s["extra-references"] = g

    g = Graph()
    a = g.new(2, FIN_RECORD)
    b = g.new(1, FIN_RECORD)
    g.set(a, 0, b)
    g.set(b, 0, a)
    c = g.new(1, FIN_RECORD)
    g.set(c, 0, a)
    t = g.new(1, FIN_RECORD)
    g.set(a, 1, t)
    g.drop(a)
    g.drop(b)
    g.drop(t)
    g.drop(c)
    g.raw(COLLECT, 15, COLLECT, 31)
    g.collect(2)
    s["tail-off-cycle"] = g

    g = Graph()
    x = g.new(1, FIN_RECORD)
    for cb in (CB_RECORD, CB_NONE, CB_DROP, CB_RECORD, CB_NONE):
        g.weak(x, cb)
    g.raw(WEAK_DROP, 1)
    g.drop(x)
    g.raw(WEAK_GET, 0, WEAK_GET, 1, WEAK_GET, 2)
    s["many-weakrefs-refcount-path"] = g

    g = Graph()
    g.leaf()
    objs = [g.new(8, FIN_RECORD if k % 2 else FIN_NONE) for k in range(8)]
    for k, o in enumerate(objs):
        for s_ in range(8):
            g.set(o, s_, objs[(k * 3 + s_) % 8])
    for o in objs:
        g.drop(o)
    g.collect(0)
    s["dense-graph"] = g

    g = Graph()
    chain = [g.new(1, FIN_RECORD) for _ in range(12)]
    for k in range(11):
        g.set(chain[k], 0, chain[k + 1])
    for o in chain[1:]:
        g.drop(o)
    g.drop(chain[0])
    s["chain-released-by-count"] = g

    for k in (1, 2, 3, 4, 5, 6, 8):
        g = Graph(fault=0xC0 | (k - 1))
        ring = g.cycle(4, FIN_RESURRECT if k % 2 else FIN_RECORD)
        g.weak(ring[0], CB_RECORD)
        for o in ring:
            g.drop(o)
        g.collect(2)
        g.raw(UNSAVE)
        g.new(2, FIN_NONE, size=LARGE)
        g.collect(2)
        s["fault-once-at-%d" % k] = g
    for k in (2, 4, 7):
        g = Graph(auto=True, t0=2, fault=0xE0 | (k - 1))
        for _ in range(4):
            a, b = g.cycle(2, FIN_RECORD)
            g.weak(a, CB_RECORD)
            g.drop(a)
            g.drop(b)
        g.collect(2)
        s["fault-from-%d-on" % k] = g

    # Types without hooks. Their garbage is freed in one walk when the
    # examined objects refer to nothing outside them but leaves without hooks.
    g = Graph()
    ring = g.cycle(3, PLAIN, nslots=2)
    t = g.new(3, PLAIN_TRAVERSE)
    leaf = g.leaf(PLAIN)
    g.set(ring[0], 1, t)
    g.set(t, 0, ring[2])
    g.set(t, 2, leaf)
    g.set(ring[1], 1, leaf)
    g.drop(leaf)
    for o in ring + [t]:
        g.drop(o)
    g.collect(0)
    a, b = g.cycle(2, PLAIN, nslots=8)
    g.set(a, 7, a)
    g.drop(a, b)
    g.collect(2)
    s["plain-cycles-freed-in-bulk"] = g

    # Referring to a leaf with a destroy keeps the collector's order; once it
    # is gone, the next garbage goes in bulk.
    g = Graph()
    a, b = g.cycle(2, PLAIN, nslots=2)
    watched = g.leaf(FIN_NONE)
    g.set(a, 1, watched)
    g.drop(watched, a, b)
    c, d = g.cycle(2, PLAIN_TRAVERSE)
    g.drop(c, d)
    g.collect(2)
    e, f = g.cycle(2, PLAIN, nslots=1)
    g.drop(e, f)
    g.collect(2)
    s["plain-garbage-refers-to-watched-leaf"] = g

    # Young garbage without hooks holding an old container without hooks:
    # the old one dies by reference counting while the garbage is cleared.
    g = Graph()
    old = g.new(1, PLAIN)
    tail = g.leaf(PLAIN)
    g.set(old, 0, tail)
    g.drop(tail)
    g.collect(0)
    g.collect(1)
    a, b = g.cycle(2, PLAIN, nslots=2)
    g.set(b, 1, old)
    g.drop(old, a, b)
    g.collect(0)
    g.collect(2)
    s["plain-young-garbage-holds-old"] = g

    # Released by reference counting: a chain and a tree without hooks, with
    # objects with hooks and weak references met on the way.
    g = Graph()
    chain = [g.new(2, PLAIN if k % 4 else PLAIN_TRAVERSE) for k in range(10)]
    mid = g.new(2, FIN_RECORD)
    end = g.leaf(PLAIN)
    for k in range(9):
        g.set(chain[k], 0, chain[k + 1])
    g.set(chain[4], 1, mid)
    g.set(mid, 0, end)
    g.set(chain[9], 0, end)
    g.weak(chain[6], CB_RECORD)
    g.weak(end, CB_NONE)
    for o in chain[1:] + [mid, end]:
        g.drop(o)
    g.drop(chain[0])
    root = g.new(8, PLAIN)
    for k in range(8):
        kid = g.new(8, PLAIN)
        g.set(root, k, kid)
        g.drop(kid)
        for j in range(4):
            leaf = g.leaf(PLAIN if (j + k) % 3 else FIN_NONE)
            g.set(kid, j, leaf)
            g.drop(leaf)
    g.drop(root)
    s["plain-released-by-count"] = g

    # A comb of ten levels: each node holds the next one and seven empty
    # containers, all without hooks, so that each level of the release has
    # the next level and seven more plain containers to release in turn.
    g = Graph()
    top = g.new(8, PLAIN)
    node = top
    for level in range(10):
        nxt = g.new(8, PLAIN)
        g.set(node, 0, nxt)
        for k in range(1, 8):
            empty = g.new(0, PLAIN)
            g.set(node, k, empty)
            g.drop(empty)
        if node != top:
            g.drop(node)
        node = nxt
    g.drop(node, top)
    s["plain-comb-released-by-count"] = g

    # Garbage without hooks kept by a finalizer, or watched by a weak reference.
    g = Graph()
    a = g.new(2, FIN_SAVE0)
    b, c = g.cycle(2, PLAIN, nslots=2)
    g.set(a, 0, b)
    g.set(b, 1, a)
    g.weak(c, CB_RECORD)
    for o in (a, b, c):
        g.drop(o)
    g.collect(2)
    g.raw(UNSAVE)
    g.collect(2)
    d, e = g.cycle(2, PLAIN)
    g.weak(d, CB_DROP)
    g.drop(d, e)
    g.collect(0)
    s["plain-garbage-kept-or-watched"] = g

    g = Graph(auto=True, t0=2, t1=1, t2_small=True)
    for k in range(8):
        a, b = g.cycle(2, PLAIN if k % 2 else PLAIN_TRAVERSE, nslots=1 + k % 3)
        g.drop(a, b)
        g.leaf(PLAIN)
    s["plain-automatic-collections"] = g

    # Release at zero deeper than the trashcan's limit (50 nested container
    # releases): a chain of 56, with finalizers, destroys and plain links,
    # branching 49 deep into two finalizer subtrees that wait in the trash
    # list, one of them with a weak reference with a callback.
    g = Graph()
    kinds = (FIN_RECORD, FIN_NONE, PLAIN, PLAIN_TRAVERSE)
    chain = [g.new(2, kinds[k % 4]) for k in range(50)]
    left, right = g.new(1, FIN_RECORD), g.new(1, FIN_RECORD)
    below = [g.new(1, FIN_RECORD), g.leaf(FIN_RECORD)]
    for k in range(49):
        g.set(chain[k], 0, chain[k + 1])
    g.set(chain[49], 0, left)
    g.set(chain[49], 1, right)
    g.set(left, 0, below[0])
    g.set(right, 0, below[1])
    g.weak(left, CB_RECORD)
    g.weak(below[1], CB_NONE)
    g.drop(*(chain[1:] + [left, right] + below))
    g.drop(chain[0])
    s["trashcan-deep-chain"] = g

    # A collection's garbage cleared one object at a time (a self-loop with a
    # destroy comes first), then a plain self-loop holding a plain chain of
    # 60: its clear nests past the trashcan's limit.
    g = Graph()
    hooked = g.new(1, FIN_NONE)
    g.set(hooked, 0, hooked)
    loop = g.new(2, PLAIN)
    g.set(loop, 0, loop)
    chain = [g.new(1, PLAIN if k % 3 else PLAIN_TRAVERSE) for k in range(60)]
    for k in range(59):
        g.set(chain[k], 0, chain[k + 1])
    g.set(loop, 1, chain[0])
    g.drop(hooked, loop, *chain)
    g.collect(2)
    s["trashcan-garbage-plain-chain"] = g

    g = Graph(fault=0xE0 | 5)
    for k in range(3):
        a, b = g.cycle(2, PLAIN, nslots=1 + k)
        g.drop(a, b)
        g.collect(2)
    s["plain-fault-from-6-on"] = g

    # Containers made untracked, counted by automatic collections (threshold
    # 3): a cycle of two untracked ones outlives its collections; a store of a
    # tracked object tracks the container it goes into, whose partner, still
    # untracked, keeps it alive from outside the examined set; the harness
    # tracks the last one at the end. A plain untracked container holding a
    # leaf dies by its count.
    g = Graph(auto=True, t0=3)
    u1 = g.new(1, FIN_RECORD, untracked=True)
    u2 = g.new(2, FIN_NONE, untracked=True)
    g.set(u1, 0, u2)
    g.set(u2, 0, u1)
    g.collect(2)
    t = g.new(1)
    g.set(u2, 1, t)
    g.drop(t)
    p = g.new(1, PLAIN, untracked=True)
    leaf = g.leaf(PLAIN)
    g.set(p, 0, leaf)
    g.drop(leaf, p)
    g.drop(u1, u2)
    g.collect(2)
    g.collect(0)
    s["untracked-containers"] = g

    # Containers of each entries type in a ring through their second slots,
    # each holding a leaf in its fourth, and a hashed container holding two
    # of them: a full collection finds them all alive; once that container
    # lets go and the ring is dropped, a second finds the ring garbage; then
    # a plain hashed container dies by its count while it holds the other.
    g = Graph()
    kinds = (ENTRIES, PLAIN_ENTRIES, HASHED, PLAIN_HASHED, PLAIN_HASHED_REVERSED)
    ring = [g.new(4, kind) for kind in kinds]
    for k, o in enumerate(ring):
        g.set(o, 1, ring[(k + 1) % len(ring)])
        leaf = g.leaf(PLAIN if k % 2 else FIN_NONE)
        g.set(o, 3, leaf)
        g.drop(leaf)
    keeper = g.new(2, HASHED)
    g.set(keeper, 0, ring[2])
    g.set(keeper, 1, ring[4])
    g.collect(2)
    g.set(keeper, 0, None)
    g.set(keeper, 1, None)
    g.drop(*ring)
    g.collect(2)
    holder = g.new(2, PLAIN_HASHED)
    g.set(holder, 1, keeper)
    g.drop(keeper, holder)
    g.collect(2)
    s["entries-hashed-and-pairs"] = g
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "corpus", "graph")
    os.makedirs(out, exist_ok=True)
    count = 0
    for name, g in scenarios().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(g.out))
        count += 1
    rng = random.Random(5)
    for k in range(12):
        header = bytes([rng.randrange(256), rng.randrange(0xC0)])
        body = bytes(rng.randrange(256) for _ in range(rng.choice((64, 128, 256, 512))))
        with open(os.path.join(out, "random-%02d" % k), "wb") as f:
            f.write(header + body)
        count += 1
    print("%d inputs written to %s" % (count, out))


if __name__ == "__main__":
    main()
