#!/usr/bin/env python3
"""Seeded random generator of valid rcgc heap traces.

generate(seed, ops) returns a trace of at least `ops` operations built from
random.Random(seed): cycles, chains, dense graphs, self-loops, tails hanging off
cycles, trees released from their root, links across generations, finalizers,
resurrecting finalizers, weak references with and without callbacks, chains of
resurrecting objects, rare chains of 60-150 objects, deref, unweak,
freeze/unfreeze, collect of each generation, thresholds, count and unsave; in
a third of the traces, now and then, everything dropped and then collect 2 (a
full collection of garbage only). Most
traces keep automatic collection off; about three in ten turn it on, with small
thresholds, and then end with the epilogue that the comparison relies on after
an `unfreeze` (before one, they are compared line by line like the others):
drop everything, unfreeze, unsave and collect 2 until no resurrecting object can
be left (three times, or two more than the resurrecting objects made), deref
every live weak reference.
Only names the trace still holds are used, so every trace is valid.

usage: python3 gen.py SEED [--ops M] [--gc-on | --gc-off]
"""
import argparse
import random
import sys

MAX_NAME = 2 ** 31 - 1
GC_ON_SHARE = 0.3


class _Builder:
    def __init__(self, rng, gc_on):
        self.r = rng
        self.gc_on = gc_on
        self.lines = []
        self.held = {}
        self.weaks = []
        self.resurrectors = 0
        self.frozen = False
        self.ever_frozen = False
        r = rng
        # Names near the top of the range (they wrap to 1, never reaching a
        # name already used, as a trace cannot use 2^31 names).
        self.next_id = r.choice([1, 1, 1, r.randrange(2, 1000), MAX_NAME - 600])
        self.next_w = r.choice([1, 1, r.randrange(2, 1000), MAX_NAME - 300])
        self.p_fin = r.choice([0.0, 0.1, 0.3, 0.6])
        self.p_res = r.choice([0.0, 0.05, 0.15, 0.3])
        self.p_weak = r.choice([0.05, 0.2, 0.4])
        self.p_cb = r.choice([0.3, 0.6, 0.9])
        self.slot_mode = r.choice(['small', 'small', 'mixed', 'wide'])
        self.max_held = r.choice([12, 25, 50])
        self.weights = {
            'shape': 20, 'set': r.choice([8, 15, 30]), 'clear': 5, 'drop': 12,
            'weak': 10 * self.p_weak * 4, 'deref': 8, 'unweak': 3,
            'collect': r.choice([6, 10, 16]), 'unsave': 3, 'freeze': r.choice([0, 1, 2]),
            'threshold': 1, 'count': r.choice([1, 3, 6]), 'gcswitch': 1 if gc_on else 0,
            'wipe': r.choice([0, 0, 0.5]),
        }

    def emit(self, line):
        self.lines.append(line)

    def new_id(self):
        if self.next_id > MAX_NAME:
            self.next_id = 1
        i = self.next_id
        self.next_id += self.r.choice([1, 1, 1, 1, 2, 7])
        return i

    def new_w(self):
        if self.next_w > MAX_NAME:
            self.next_w = 1
        w = self.next_w
        self.next_w += self.r.choice([1, 1, 1, 3])
        return w

    def slot_count(self):
        r = self.r
        if self.slot_mode == 'small':
            return r.choice([1, 1, 2, 2, 3, 4, 4, 4])
        if self.slot_mode == 'mixed':
            return r.choice([1, 2, 4, 4, 6, 8, 16])
        return r.choice([4, 8, 16, 32, 63, 64])

    def new_obj(self, kind=None):
        r = self.r
        oid = self.new_id()
        if kind is None:
            x = r.random()
            kind = 'resurrect' if x < self.p_res else 'fin' if x < self.p_res + self.p_fin else ''
        k = self.slot_count()
        parts = ['new', str(oid)]
        if kind:
            parts.append(kind)
        if k != 4 or r.random() < 0.3:
            parts.append('slots=%d' % k)
        self.emit(' '.join(parts))
        self.held[oid] = k
        if kind == 'resurrect':
            self.resurrectors += 1
        if r.random() < self.p_weak:
            self.weak(oid)
        return oid

    def slot(self, a):
        k = self.held[a]
        if self.r.random() < 0.2:
            return k - 1
        return self.r.randrange(k)

    def set(self, a, b, i=None):
        if i is None:
            i = self.slot(a)
        self.emit('set %d %d %d' % (a, i, b))

    def drop(self, a):
        self.emit('drop %d' % a)
        del self.held[a]

    def weak(self, a):
        w = self.new_w()
        cb = ' cb' if self.r.random() < self.p_cb else ''
        self.emit('weak %d %d%s' % (w, a, cb))
        self.weaks.append(w)

    def pick(self):
        return self.r.choice(list(self.held))

    def drop_some(self, ids):
        r = self.r
        mode = r.random()
        ids = [i for i in ids if i in self.held]
        r.shuffle(ids)
        if mode < 0.55:
            keep = 0
        elif mode < 0.85:
            keep = 1
        else:
            keep = len(ids)
        for a in ids[keep:]:
            if r.random() < 0.15:
                self.maybe_interleave()
            self.drop(a)

    def maybe_interleave(self):
        r = self.r
        x = r.random()
        if x < 0.4:
            self.collect()
        elif x < 0.7 and self.weaks:
            self.emit('deref %d' % r.choice(self.weaks))
        elif self.held:
            self.set(self.pick(), self.pick())

    def collect(self, g=None):
        if g is None:
            g = self.r.choice([0, 0, 0, 1, 1, 2, 2])
        self.emit('collect %d' % g)

    def shape(self):
        r = self.r
        kind = r.choice(['ring', 'ring', 'selfloop', 'chain', 'chain', 'dense', 'dense',
                         'tail', 'attach', 'resurrect', 'resurrect_chain', 'weakstar', 'tree'])
        if r.random() < 0.01:
            kind = 'long_chain'
        getattr(self, 'shape_' + kind)()

    def shape_ring(self):
        n = self.r.choice([2, 2, 3, 3, 4, 5, 6, 8, 10, 16])
        ids = [self.new_obj() for _ in range(n)]
        for i in range(n):
            self.set(ids[i], ids[(i + 1) % n])
        for _ in range(self.r.choice([0, 0, 1, 3])):
            self.set(self.r.choice(ids), self.r.choice(ids))
        self.drop_some(ids)

    def shape_selfloop(self):
        a = self.new_obj()
        self.set(a, a)
        self.drop_some([a])

    def shape_chain(self):
        r = self.r
        n = r.choice([2, 3, 4, 6, 10, 20, 40])
        ids = [self.new_obj() for _ in range(n)]
        for i in range(n - 1):
            self.set(ids[i], ids[i + 1])
        if r.random() < 0.4:
            self.set(ids[-1], ids[0])
        for a in ids[1:]:
            self.drop(a)
        if r.random() < 0.5:
            self.drop(ids[0])

    def shape_dense(self):
        r = self.r
        n = r.choice([3, 4, 6, 8, 12])
        ids = [self.new_obj() for _ in range(n)]
        for _ in range(r.randrange(n, 3 * n)):
            self.set(r.choice(ids), r.choice(ids))
        if r.random() < 0.3:
            self.emit('clear %d %d' % (ids[0], self.slot(ids[0])))
        self.drop_some(ids)

    def shape_tail(self):
        r = self.r
        a, b = self.new_obj(), self.new_obj()
        self.set(a, b)
        self.set(b, a)
        prev = r.choice([a, b])
        tail = []
        for _ in range(r.choice([1, 2, 4])):
            c = self.new_obj()
            self.set(prev, c)
            tail.append(c)
            prev = c
        self.drop_some([a, b] + tail)

    def shape_attach(self):
        r = self.r
        if not self.held:
            return self.shape_ring()
        old = self.pick()
        ids = [self.new_obj() for _ in range(r.choice([1, 2, 3]))]
        for i, a in enumerate(ids):
            self.set(a, ids[(i + 1) % len(ids)])
        if r.random() < 0.5:
            self.set(ids[0], old)
        else:
            self.set(old, ids[0])
        self.drop_some(ids + ([old] if r.random() < 0.3 else []))

    def shape_resurrect(self):
        r = self.r
        a = self.new_obj('resurrect')
        cargo = self.new_obj()
        self.set(a, cargo)
        if r.random() < 0.7:
            self.set(cargo, a)
        if r.random() < 0.5:
            self.set(cargo, cargo)
        if r.random() < 0.4:
            c2 = self.new_obj('resurrect')
            self.set(cargo, c2)
            self.drop(c2)
        self.drop_some([a, cargo])

    def shape_resurrect_chain(self):
        r = self.r
        ids = [self.new_obj(r.choice(['resurrect', 'resurrect', 'fin', ''])) for _ in range(r.choice([2, 3, 4]))]
        for i in range(len(ids) - 1):
            self.set(ids[i], ids[i + 1])
        if r.random() < 0.3:
            self.set(ids[-1], ids[0])
        for a in reversed(ids):
            if r.random() < 0.5:
                self.weak(a)
            self.drop(a)
        if r.random() < 0.5:
            self.emit('unsave')

    def shape_long_chain(self):
        r = self.r
        ids = [self.new_obj() for _ in range(r.choice([60, 100, 150]))]
        for i in range(len(ids) - 1):
            self.set(ids[i], ids[i + 1])
        if r.random() < 0.5:
            self.set(ids[-1], ids[0])
        for a in ids[1:]:
            self.drop(a)

    def shape_tree(self):
        """A tree of up to four levels, each child in a slot of its own and held
        by its parent only, dropped from the root most of the time: its release
        on the reference-count path, children in slot order, each one's
        subtree before the next."""
        r = self.r

        def build(depth):
            a = self.new_obj()
            if depth > 0:
                k = self.held[a]
                for i in sorted(r.sample(range(k), min(k, r.choice([1, 2, 2, 3])))):
                    c = build(depth - 1)
                    self.set(a, c, i)
                    self.drop(c)
            return a

        root = build(r.choice([1, 2, 2, 3, 4]))
        if r.random() < 0.8:
            self.drop(root)

    def shape_weakstar(self):
        r = self.r
        a = self.new_obj(r.choice(['', 'fin', 'resurrect']))
        for _ in range(r.choice([1, 2, 3])):
            self.weak(a)
        if r.random() < 0.7:
            self.set(a, a)
        self.drop_some([a])

    def step(self):
        r = self.r
        names = list(self.weights)
        act = r.choices(names, [self.weights[n] for n in names])[0]
        if len(self.held) > self.max_held:
            act = 'drop'
        if not self.held and act in ('set', 'clear', 'drop', 'weak'):
            act = 'shape'
        if not self.weaks and act in ('deref', 'unweak'):
            act = 'shape'
        if act == 'shape':
            self.shape()
        elif act == 'set':
            self.set(self.pick(), self.pick())
        elif act == 'clear':
            a = self.pick()
            self.emit('clear %d %d' % (a, self.slot(a)))
        elif act == 'drop':
            self.drop(self.pick())
        elif act == 'weak':
            self.weak(self.pick())
        elif act == 'deref':
            for _ in range(r.choice([1, 1, 2, 4])):
                self.emit('deref %d' % r.choice(self.weaks))
        elif act == 'unweak':
            w = r.choice(self.weaks)
            self.weaks.remove(w)
            self.emit('unweak %d' % w)
        elif act == 'collect':
            self.collect()
        elif act == 'unsave':
            self.emit('unsave')
        elif act == 'freeze':
            if self.frozen and r.random() < 0.7:
                self.emit('unfreeze')
                self.frozen = False
            else:
                self.emit('freeze')
                self.frozen = self.ever_frozen = True
        elif act == 'threshold':
            self.threshold()
        elif act == 'count':
            self.emit('count')
        elif act == 'gcswitch':
            self.emit(r.choice(['gc on', 'gc on', 'gc off']))
        elif act == 'wipe':
            self.wipe()

    def wipe(self):
        """Drops every object, weak reference and saved object the trace
        holds, then collects generation 2: a full collection whose examined
        objects are all garbage (frozen objects are not examined)."""
        held = list(self.held)
        self.r.shuffle(held)
        for a in held:
            self.drop(a)
        for w in self.weaks:
            self.emit('unweak %d' % w)
        self.weaks = []
        self.emit('unsave')
        self.collect(2)

    def threshold(self):
        r = self.r
        if self.gc_on:
            ts = [r.choice([1, 2, 5, 10, 50, 700]), r.choice([0, 1, 2, 10]), r.choice([0, 1, 10])]
        else:
            ts = [r.choice([0, 1, 100, 700, 5000, 2 ** 31 - 1]), r.randrange(0, 20), r.randrange(0, 20)]
        self.emit('threshold ' + ' '.join(str(t) for t in ts[:r.choice([1, 2, 3, 3])]))

    def build(self, ops):
        r = self.r
        if self.gc_on:
            if r.random() < 0.7:
                self.threshold()
            self.emit('gc on')
        while len(self.lines) < ops:
            self.step()
        if self.gc_on:
            if self.lines[-1] == 'gc off' or r.random() < 0.5:
                self.emit('gc on')
            self.epilogue()
        elif r.random() < 0.3:
            self.epilogue()
        return self.lines

    def epilogue(self):
        r = self.r
        held = list(self.held)
        r.shuffle(held)
        for a in held:
            self.drop(a)
        if self.ever_frozen:
            self.emit('unfreeze')
        # Each round frees at least one resurrecting object for good once one
        # is saved; when automatic collections run decides how many are saved
        # in each round, so the rounds must outlast the longest chain of them.
        for _ in range(max(3, self.resurrectors + 2)):
            self.emit('unsave')
            self.emit('collect 2')
        for w in self.weaks:
            self.emit('deref %d' % w)


def generate_lines(seed, ops=200, gc_on=None):
    """The operations (str lines) of the trace for `seed`."""
    r = random.Random(seed)
    if gc_on is None:
        gc_on = r.random() < GC_ON_SHARE
    return _Builder(r, gc_on).build(ops)


def generate(seed, ops=200, gc_on=None):
    """The trace text for `seed`: at least `ops` operations."""
    return '\n'.join(generate_lines(seed, ops, gc_on)) + '\n'


def main(argv):
    ap = argparse.ArgumentParser(description='Print a random rcgc trace.')
    ap.add_argument('seed', type=int)
    ap.add_argument('--ops', type=int, default=200)
    g = ap.add_mutually_exclusive_group()
    g.add_argument('--gc-on', dest='gc_on', action='store_true', default=None)
    g.add_argument('--gc-off', dest='gc_on', action='store_false')
    a = ap.parse_args(argv[1:])
    sys.stdout.write(generate(a.seed, a.ops, a.gc_on))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
