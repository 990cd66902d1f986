"""Memory on CPython, the peer of bench/memory.c: N objects with two reference
slots kept alive as a chain, as instances of a __slots__ class (variant=slots)
or as 2-tuples (variant=tuples). Reports the block size (sys.getsizeof, which
includes the 16-byte GC header, rounded up to pymalloc's 16-byte alignment),
the overhead over 16 payload bytes, and the peak resident set (VmHWM) minus
the resident set before the objects were made.

Usage: python3 memory.py [--tiny] [n=N] [variant=slots|tuples]
"""
import sys

import benchutil as bu

PAYLOAD = 16


class Node:
    __slots__ = ("first", "second")

    def __init__(self, first, second):
        self.first = first
        self.second = second


def main():
    args = bu.parse_args()
    n = bu.arg_int(args, "n", 20000 if args["tiny"] else 1000000)
    variant = args.get("variant", "slots")
    baseline = bu.rss_baseline_bytes()
    head = None
    if variant == "slots":
        for _ in range(n):
            head = Node(head, None)
    elif variant == "tuples":
        for _ in range(n):
            head = (head, None)
    else:
        sys.exit("variant must be slots or tuples")
    peak = bu.peak_rss_bytes()

    count, x = 0, head
    while x is not None:
        count += 1
        x = x[0] if variant == "tuples" else x.first
    if count != n:
        bu.fail("memory", "the chain lost objects")

    block = (sys.getsizeof(head) + 15) // 16 * 16
    case = "two-slot-%s" % bu.count_str(n)
    name = "cpython-" + variant
    bu.result("memory", name, case, "block", block, "B")
    bu.result("memory", name, case, "overhead", block - PAYLOAD, "B")
    if baseline and peak > baseline:
        bu.result("memory", name, case, "peak_rss_per_object", (peak - baseline) / n, "B")
        bu.result("memory", name, case, "peak_rss", (peak - baseline) / 1048576.0, "MiB")
    bu.finish()


if __name__ == "__main__":
    main()
