"""The items and entries levers' peer on CPython (bench/levers.c, case=items
and case=entries): N lists (case=items) or dicts (case=entries) in groups of
four, each holding the four of its group (itself too), one of each group held
from a list, then full collections that examine them all and free nothing. A
dict is {0: d0, 1: d1, 2: d2, 3: d3}: its int keys make CPython keep entries
of a hash, a key and a value, as bench_levers' dicts do. Automatic collection
is off, and the interpreter's own objects are frozen first (gc.freeze) so that
the collections examine the same graph as rcgc's. Reports the time of 20
collections in nanoseconds per object and collection, as bench_levers does;
what gc.collect() returns is checked.

Usage: python3 levers.py [--tiny] [case=items|entries] [n=N]
"""
import gc
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


def main():
    args = bu.parse_args()
    kase = args.get("case", "items")
    if kase not in ("items", "entries"):
        bu.fail("levers", "only case=items and case=entries have a CPython peer")
    n = bu.arg_int(args, "n", 10000 if args["tiny"] else 1000000)
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
