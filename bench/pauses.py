"""Pauses on CPython, the peer of bench/pauses.c: builds a chain of N
instances of a two-slot __slots__ class with automatic collection on at the
default thresholds, and times every collection from its "start" to its "stop"
callback (gc.callbacks). The interpreter's own objects are frozen first
(gc.freeze) so that the collections examine the same objects as rcgc's.

Usage: python3 pauses.py [--tiny] [n=N]
"""
import gc
import time

import benchutil as bu


class Node:
    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first = first
        self.second = second


def percentile(values, p):
    """Nearest rank of sorted values, as bench/pauses.c computes it."""
    rank = min(len(values), max(1, int(p * len(values) + 0.999999)))
    return values[rank - 1]


def main():
    args = bu.parse_args()
    n = bu.arg_int(args, "n", 20000 if args["tiny"] else 1000000)
    pauses = []
    per_gen = [0, 0, 0]
    start = [0]
    now = time.perf_counter_ns

    def on_collection(phase, info):
        if phase == "start":
            start[0] = now()
        else:
            pauses.append(now() - start[0])
            per_gen[info["generation"]] += 1

    gc.collect()
    gc.freeze()
    gc.callbacks.append(on_collection)
    head = None
    t0 = now()
    for _ in range(n):
        head = Node(head, None)
    t1 = now()
    gc.callbacks.remove(on_collection)
    if not pauses:
        bu.fail("pauses", "no collection ran")

    values = sorted(pauses)
    case = "chain-%s" % bu.count_str(n)
    bu.result("pauses", "cpython", case, "total", sum(values) / 1e6, "ms")
    bu.result("pauses", "cpython", case, "max", values[-1] / 1e6, "ms")
    bu.result("pauses", "cpython", case, "p99", percentile(values, 0.99) / 1e3, "us")
    bu.result("pauses", "cpython", case, "p50", percentile(values, 0.50) / 1e3, "us")
    for g in range(3):
        bu.result("pauses", "cpython", case, "gen%d_collections" % g, per_gen[g], "count")
    bu.result("pauses", "cpython", case, "build", (t1 - t0) / 1e6, "ms")
    bu.finish()


if __name__ == "__main__":
    main()
