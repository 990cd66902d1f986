"""Helpers of the CPython peers (bench/*.py): the command line, the result
line read by bench/run.sh, resident-memory readings.

Each peer prints the same lines as the C programs (bench/bench.h):

    @result <bench> <variant> <case> <metric> <value> <unit>

and exits with status 1 when a result it computed is wrong.
"""
import os
import sys


def parse_args(argv=None):
    """--tiny, --quick and NAME=VALUE settings, as the C programs take them."""
    args = {"tiny": False, "quick": False}
    for a in (sys.argv[1:] if argv is None else argv):
        if a == "--tiny":
            args["tiny"] = True
        elif a == "--quick":
            args["quick"] = True
        elif "=" in a:
            k, v = a.split("=", 1)
            args[k] = v
        else:
            sys.exit("%s: unknown argument %s (use --tiny, --quick or NAME=VALUE)" % (sys.argv[0], a))
    return args


def arg_int(args, name, default):
    v = args.get(name)
    return default if v is None else int(float(v))


def count_str(n):
    """n as "1eK" when it is a power of ten, else in decimal (bench_count_str)."""
    e, p = 0, 1
    while p < n:
        p *= 10
        e += 1
    return "1e%d" % e if p == n else str(n)


def result(bench, variant, case, metric, value, unit):
    print("@result %s %s %s %s %.6g %s" % (bench, variant, case, metric, value, unit), flush=True)


def fail(bench, what):
    print("%s: wrong result: %s" % (bench, what), file=sys.stderr, flush=True)
    os._exit(1)


def proc_status_bytes(field):
    """A field of /proc/self/status (VmRSS, VmHWM) in bytes, 0 if unavailable."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def rss_baseline_bytes():
    """The resident set in bytes, to subtract from a later peak: read twice, as
    bench.h's bench_rss_baseline does, so that the code of the first read is
    resident before the one that counts."""
    proc_status_bytes("VmRSS")
    return proc_status_bytes("VmRSS")


def peak_rss_bytes():
    hwm = proc_status_bytes("VmHWM")
    if hwm == 0:
        import resource
        hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return hwm


def finish():
    """Exits at once: the interpreter's teardown of millions of objects is not
    part of any measurement and would only lengthen the run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
