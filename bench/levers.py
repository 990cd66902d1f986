"""The items lever's peer on CPython (bench/levers.c, case=items): N lists in
groups of four, each holding the four lists of its group (itself too), one
list of each group held from a list, then full collections that examine them
all and free nothing. Automatic collection is off, and the interpreter's own
objects are frozen first (gc.freeze) so that the collections examine the same
graph as rcgc's. Reports the time of 20 collections in nanoseconds per list
and collection, as bench_levers does; what gc.collect() returns is checked.

Usage: python3 levers.py [--tiny] [case=items] [n=N]
"""
import gc
import time

import benchutil as bu

GROUP = 4


def main():
    args = bu.parse_args()
    if args.get("case", "items") != "items":
        bu.fail("levers", "only case=items has a CPython peer")
    n = bu.arg_int(args, "n", 10000 if args["tiny"] else 1000000)
    rounds = 2 if args["tiny"] else 20
    gc.disable()
    gc.collect()
    gc.freeze()
    roots = []
    for _ in range(n // GROUP):
        group = [[] for _ in range(GROUP)]
        for lst in group:
            lst.extend(group)
        roots.append(group[0])
    del group, lst
    if gc.collect() != 0:
        bu.fail("levers", "a reachable list was collected")
    t0 = time.perf_counter_ns()
    for _ in range(rounds):
        if gc.collect() != 0:
            bu.fail("levers", "a reachable list was collected")
    ns = (time.perf_counter_ns() - t0) / (rounds * (n // GROUP) * GROUP)
    roots.clear()
    found = gc.collect()
    if found != n // GROUP * GROUP:
        bu.fail("levers", "gc.collect() found %d of the %d dropped lists" % (found, n // GROUP * GROUP))
    bu.result("levers", "cpython", "items-%s" % bu.count_str(n), "time_per_object", ns, "ns")
    bu.finish()


if __name__ == "__main__":
    main()
