"""The items, entries and scattered levers' peer on CPython (bench/levers.c).

case=items and case=entries: N lists (items) or dicts (entries) in groups of
four, each holding the four of its group (itself too), one of each group held
from a list, then full collections that examine them all and free nothing. A
dict is {0: d0, 1: d1, 2: d2, 3: d3}: its int keys make CPython keep entries
of a hash, a key and a value, as bench_levers' dicts do. Reports the time of
20 collections in nanoseconds per object and collection, as bench_levers does.

case=scattered: N instances of a __slots__ class, then 2N times a random one
replaced by a new one, then paired (a.first = b, b.first = a, each pair held
through a from a list), so that the collector's list is out of address
order; one full collection untimed, as bench_levers runs one, then one timed.

Automatic collection is off, and the interpreter's own objects are frozen
first (gc.freeze) so that the collections examine the same graph as rcgc's;
what gc.collect() returns is checked.

Usage: python3 levers.py [--tiny] [case=items|entries|scattered] [n=N]
"""
import gc
import random
import time

import benchutil as bu

GROUP = 4


def make_group(kase):
    if kase == "items":
        group = [[] for _ in range(GROUP)]
        for lst in group:
            lst.extend(group)
    else:
        group = [{} for _ in range(GROUP)]
        for d in group:
            for i, other in enumerate(group):
                d[i] = other
    return group[0]


class Pair:
    __slots__ = ("first", "second")


def scattered(n):
    """case=scattered: the time of the second full collection, ns per object."""
    rng = random.Random(1)
    objs = [Pair() for _ in range(n)]
    for _ in range(2 * n):
        objs[rng.randrange(n)] = Pair()
    for i in range(0, n, 2):
        objs[i].first = objs[i + 1]
        objs[i + 1].first = objs[i]
    roots = objs[0::2]
    del objs
    if gc.collect() != 0:
        bu.fail("levers", "a reachable pair was collected")
    t0 = time.perf_counter_ns()
    if gc.collect() != 0:
        bu.fail("levers", "a reachable pair was collected")
    ns = (time.perf_counter_ns() - t0) / n
    roots.clear()
    found = gc.collect()
    if found != n:
        bu.fail("levers", "gc.collect() found %d of the %d dropped objects" % (found, n))
    return ns


def main():
    args = bu.parse_args()
    kase = args.get("case", "items")
    if kase not in ("items", "entries", "scattered"):
        bu.fail("levers", "only case=items, case=entries and case=scattered have a CPython peer")
    n = bu.arg_int(args, "n", 10000 if args["tiny"] else 1000000)
    if kase == "scattered":
        n += n & 1
        gc.disable()
        gc.collect()
        gc.freeze()
        ns = scattered(n)
        bu.result("levers", "cpython", "scattered-%s" % bu.count_str(n), "time_per_object", ns, "ns")
        bu.finish()
        return
    rounds = 2 if args["tiny"] else 20
    gc.disable()
    gc.collect()
    gc.freeze()
    roots = [make_group(kase) for _ in range(n // GROUP)]
    if gc.collect() != 0:
        bu.fail("levers", "a reachable object was collected")
    t0 = time.perf_counter_ns()
    for _ in range(rounds):
        if gc.collect() != 0:
            bu.fail("levers", "a reachable object was collected")
    ns = (time.perf_counter_ns() - t0) / (rounds * (n // GROUP) * GROUP)
    roots.clear()
    found = gc.collect()
    if found != n // GROUP * GROUP:
        bu.fail("levers", "gc.collect() found %d of the %d dropped objects" % (found, n // GROUP * GROUP))
    bu.result("levers", "cpython", "%s-%s" % (kase, bu.count_str(n)), "time_per_object", ns, "ns")
    bu.finish()


if __name__ == "__main__":
    main()
