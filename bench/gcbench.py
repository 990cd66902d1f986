"""GCBench on CPython, the peer of bench/gcbench.c (Ellis, Kovac, Boehm): nodes
are instances of a __slots__ class with two references and two ints, the
long-lived array a list of floats. The collector runs at its default
thresholds. Reports the wall time of the whole run and the collections of
each generation.

Usage: python3 gcbench.py [--tiny]
"""
import gc
import time

import benchutil as bu


class Node:
    __slots__ = ("left", "right", "i", "j")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right
        self.i = 0
        self.j = 0


def tree_size(depth):
    return (1 << (depth + 1)) - 1


def populate(depth, node):
    if depth <= 0:
        return
    depth -= 1
    node.left = Node()
    node.right = Node()
    populate(depth, node.left)
    populate(depth, node.right)


def make_tree(depth):
    if depth <= 0:
        return Node()
    return Node(make_tree(depth - 1), make_tree(depth - 1))


def count_nodes(node):
    return 0 if node is None else 1 + count_nodes(node.left) + count_nodes(node.right)


def main():
    args = bu.parse_args()
    if args["tiny"]:
        stretch_depth, long_lived_depth, min_depth, max_depth, array_size = 8, 6, 4, 6, 5000
    else:
        stretch_depth, long_lived_depth, min_depth, max_depth, array_size = 18, 16, 4, 16, 500000

    before = [s["collections"] for s in gc.get_stats()]
    t0 = time.perf_counter()
    make_tree(stretch_depth)
    long_lived = Node()
    populate(long_lived_depth, long_lived)
    array = [0.0] * array_size
    for i in range(1, array_size // 2):
        array[i] = 1.0 / i
    for depth in range(min_depth, max_depth + 1, 2):
        iters = 2 * tree_size(stretch_depth) // tree_size(depth)
        for _ in range(iters):
            populate(depth, Node())
        for _ in range(iters):
            make_tree(depth)
    if array[1000] != 1.0 / 1000:
        bu.fail("gcbench", "the long-lived array changed")
    t1 = time.perf_counter()
    if count_nodes(long_lived) != tree_size(long_lived_depth):
        bu.fail("gcbench", "the long-lived tree lost nodes")
    after = [s["collections"] for s in gc.get_stats()]
    bu.result("gcbench", "cpython-slots", "default", "time", t1 - t0, "s")
    for g in range(3):
        bu.result("gcbench", "cpython-slots", "default", "gen%d_collections" % g, after[g] - before[g], "count")
    bu.finish()


if __name__ == "__main__":
    main()
