"""binary-trees on CPython, the peer of bench/binary_trees.c: the Computer
Language Benchmarks Game program, with tree nodes as tuples (variant=tuples,
the game's Python program) or as instances of a __slots__ class
(variant=slots). The collector runs at its default thresholds. Reports the
wall time of the whole run; node counts are checked.

Usage: python3 binary_trees.py [--tiny] [depth=N] [variant=tuples|slots]
"""
import gc
import time

import benchutil as bu


def make_tuples(depth):
    if depth == 0:
        return (None, None)
    depth -= 1
    return (make_tuples(depth), make_tuples(depth))


def check_tuples(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check_tuples(left) + check_tuples(right)


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def make_slots(depth):
    if depth == 0:
        return Node(None, None)
    depth -= 1
    return Node(make_slots(depth), make_slots(depth))


def check_slots(node):
    if node.left is None:
        return 1
    return 1 + check_slots(node.left) + check_slots(node.right)


def expect(got, iterations, depth):
    want = iterations * ((2 << depth) - 1)
    if got != want:
        bu.fail("binary-trees", "depth %d: check %d, expected %d" % (depth, got, want))


def run(make, check, max_depth):
    min_depth = 4
    stretch_depth = max_depth + 1
    expect(check(make(stretch_depth)), 1, stretch_depth)
    long_lived = make(max_depth)
    for depth in range(min_depth, max_depth + 1, 2):
        iterations = 1 << (max_depth - depth + min_depth)
        total = 0
        for _ in range(iterations):
            total += check(make(depth))
        expect(total, iterations, depth)
    expect(check(long_lived), 1, max_depth)


def main():
    args = bu.parse_args()
    depth = max(6, bu.arg_int(args, "depth", 6 if args["tiny"] else 16))
    variant = args.get("variant", "tuples")
    make, check = {"tuples": (make_tuples, check_tuples), "slots": (make_slots, check_slots)}[variant]
    before = [s["collections"] for s in gc.get_stats()]
    t0 = time.perf_counter()
    run(make, check, depth)
    t1 = time.perf_counter()
    after = [s["collections"] for s in gc.get_stats()]
    case = "depth%d" % depth
    bu.result("binary-trees", "cpython-" + variant, case, "time", t1 - t0, "s")
    for g in range(3):
        bu.result("binary-trees", "cpython-" + variant, case, "gen%d_collections" % g, after[g] - before[g], "count")
    bu.finish()


if __name__ == "__main__":
    main()
