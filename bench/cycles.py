"""Cycle collection on CPython, the peer of bench/cycles.c: N instances of a
__slots__ class in 2-object cycles, unreachable (case=unreachable) or each pair
held from a list (case=reachable), then one timed gc.collect(). Automatic
collection is off while the objects are made, and the interpreter's own objects
are frozen first (gc.freeze) so that the collection examines the same graph as
rcgc's. The number gc.collect() returns is checked.

Usage: python3 cycles.py [--tiny] [n=N] [case=unreachable|reachable]
"""
import gc
import time

import benchutil as bu


class Pair:
    __slots__ = ("first", "second")


def build(n, roots):
    for _ in range(n // 2):
        a = Pair()
        b = Pair()
        a.first = b
        b.first = a
        a.second = b.second = None
        if roots is not None:
            roots.append(a)


def measure(n, reachable):
    gc.disable()
    gc.collect()
    gc.freeze()
    roots = [] if reachable else None
    build(n, roots)
    t0 = time.perf_counter_ns()
    found = gc.collect()
    t1 = time.perf_counter_ns()
    want = 0 if reachable else n
    if found != want:
        bu.fail("cycles", "gc.collect() returned %d, expected %d" % (found, want))
    return t1 - t0


def main():
    args = bu.parse_args()
    n = bu.arg_int(args, "n", 10000 if args["tiny"] else 1000000)
    n += n & 1
    which = args.get("case", "both")
    for case in ("unreachable", "reachable"):
        if which not in ("both", case):
            continue
        ns = measure(n, case == "reachable")
        name = "%s-%s" % (case, bu.count_str(n))
        bu.result("cycles", "cpython", name, "time_per_object", ns / n, "ns")
        bu.result("cycles", "cpython", name, "time", ns / 1e6, "ms")
    bu.finish()


if __name__ == "__main__":
    main()
