#!/usr/bin/env python3
"""Differential test of `rcgc replay` against CPython 3.11.

Random traces (gen.py) or given trace files are run on CPython (oracle.py, in
this process or in forked worker processes) and on rcgc (`PATH replay --echo -`)
and compared (compare.py). A random trace that disagrees is shrunk by delta
debugging to a short trace that still disagrees; the shrunk trace is written to
--out and the commands that reproduce it are printed. The last line printed is
`N passed, N failed`. Exit status: 0 all agree, 1 a disagreement, 2 usage
error, 77 (skipped) when python3 is not CPython 3.11.

With --plain, rcgc runs the traces with `replay --plain`: the objects without a
finalizer have no destroy hook, so the collector may free their cycles in bulk
(bulk_delete), which the default objects never allow. With --fields, it runs
them with `replay --fields`: each object's slots are its type's registered
fields, which the collector and the release read without calling traverse.

usage: difftest.py --rcgc PATH [--seed S] [--count N] [--ops M] [--jobs J]
                   [--out DIR] [--max-shrink K] [--strict-order] [--plain] [--fields]
       difftest.py --rcgc PATH --trace FILE... [--shrink] [--out DIR] [--strict-order]
                   [--plain] [--fields]
"""
import argparse
import multiprocessing
import os
import subprocess
import sys
import time

import compare
import gen
import oracle

SKIP_STATUS = 77
RCGC_TIMEOUT = 20.0
SHRINK_SECONDS = 120.0

# The options of `rcgc replay`, set once by main() before any trace runs (the
# worker processes are forked after it).
replay_options = ['--echo']


def run_rcgc(rcgc, data, timeout=RCGC_TIMEOUT):
    """(output lines, exit status, stderr) of `rcgc replay --echo [--plain] [--fields] -`
    on data."""
    try:
        p = subprocess.run([rcgc, 'replay'] + replay_options + ['-'], input=data,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode('utf-8', 'replace').splitlines()
        return out, 'timeout after %gs' % timeout, ''
    except OSError as e:
        return [], 'not run (%s)' % e, ''
    out = p.stdout.decode('utf-8', 'replace').splitlines()
    status = p.returncode if p.returncode >= 0 else 'killed by signal %d' % -p.returncode
    return out, status, p.stderr.decode('utf-8', 'replace')


def op_linenos(data):
    """The trace line number of each operation."""
    nums = []
    for i, raw in enumerate(oracle.split_lines(data), 1):
        if oracle.strip_comment(raw.decode('latin-1')):
            nums.append(i)
    return nums


class Outcome:
    """Both runs of one trace and their comparison (mismatch None: agree)."""

    def __init__(self, data, exp, act, status, stderr, mismatch):
        self.data = data
        self.exp = exp
        self.act = act
        self.status = status
        self.stderr = stderr
        self.mismatch = mismatch


def check(rcgc, data, strict=False, allow_invalid=True, linenos=True):
    """Runs data (bytes) on both sides. strict: also compare the order of
    events. With allow_invalid False, a trace CPython rejects gives None
    instead of an Outcome. With linenos False, messages name operations by
    index only."""
    exp = oracle.run_trace(data)
    if exp.error is not None and not allow_invalid:
        return None
    act, status, stderr = run_rcgc(rcgc, data)
    m = compare.compare(exp.lines, act, exp.gc_fins, status, stderr,
                        exp.error.lineno if exp.error is not None else None,
                        op_linenos(data) if linenos else None, strict, exp.exact)
    return Outcome(data, exp, act, status, stderr, m)


def _check_seeds(job):
    rcgc, seeds, ops, strict = job
    failed = []
    for seed in seeds:
        data = gen.generate(seed, ops).encode()
        o = check(rcgc, data, strict)
        if o.exp.error is not None:
            failed.append((seed, False, 'the generator made an invalid trace: %s' % o.exp.error))
        elif o.mismatch is not None:
            failed.append((seed, True, str(o.mismatch)))
    return len(seeds), failed


# ---------------------------------------------------------------- shrinking

def _refs(tokens):
    """(defined object, defined weak, used objects, used weaks) of one op."""
    op = tokens[0]
    if op == 'new':
        return tokens[1], None, (), ()
    if op == 'set':
        return None, None, (tokens[1], tokens[3]), ()
    if op in ('clear', 'drop'):
        return None, None, (tokens[1],), ()
    if op == 'weak':
        return None, tokens[1], (tokens[2],), ()
    if op in ('unweak', 'deref'):
        return None, None, (), (tokens[1],)
    return None, None, (), ()


def _closure(ops, remove):
    """Adds to `remove` every op that uses a name defined by a removed op."""
    remove = set(remove)
    gone_objs, gone_weaks = set(), set()
    for i in sorted(remove):
        d, w, _, _ = _refs(ops[i])
        if d:
            gone_objs.add(d)
        if w:
            gone_weaks.add(w)
    for i, t in enumerate(ops):
        if i in remove:
            continue
        _, w, uo, uw = _refs(t)
        if any(x in gone_objs for x in uo) or any(x in gone_weaks for x in uw):
            remove.add(i)
            if w:
                gone_weaks.add(w)
    return remove


def _epilogue(ops):
    """The gc-on epilogue for a shrunk body: drop all, unfreeze, unsave and
    collect 2 three times, deref every live weak reference."""
    held, weaks, frozen = [], [], False
    for t in ops:
        op = t[0]
        if op == 'new':
            held.append(t[1])
        elif op == 'drop':
            held.remove(t[1])
        elif op == 'weak':
            weaks.append(t[1])
        elif op == 'unweak':
            weaks.remove(t[1])
        elif op == 'freeze':
            frozen = True
    tail = [['drop', a] for a in held]
    if frozen:
        tail.append(['unfreeze'])
    tail += [['unsave'], ['collect', '2']] * 3
    tail += [['deref', w] for w in weaks]
    return tail


def _split_epilogue(ops):
    """(body, True) for a trace with `gc on` that ends in the epilogue (drops,
    maybe unfreeze, unsave and collect 2 three times, derefs), else (ops, False)."""
    if ['gc', 'on'] not in ops:
        return ops, False
    end = len(ops)
    while end > 0 and ops[end - 1][0] == 'deref':
        end -= 1
    if end < 6 or ops[end - 6:end] != [['unsave'], ['collect', '2']] * 3:
        return ops, False
    end -= 6
    if end > 0 and ops[end - 1] == ['unfreeze']:
        end -= 1
    while end > 0 and ops[end - 1][0] == 'drop':
        end -= 1
    return ops[:end], True


def _text(ops):
    return ('\n'.join(' '.join(t) for t in ops) + '\n').encode()


def shrink(rcgc, data, strict=False, budget=SHRINK_SECONDS):
    """A shorter valid trace (bytes) that still disagrees: ddmin over
    operations, removing with each op every later op that needs its names;
    then simpler `new` and `weak` options and names renumbered from 1. A
    trace with `gc on` keeps its epilogue, rebuilt for what the shrunk body
    still holds."""
    ops = [oracle.strip_comment(raw.decode('latin-1')) for raw in oracle.split_lines(data)]
    ops = [t for t in ops if t]
    body, keep_epilogue = _split_epilogue(ops)
    deadline = time.monotonic() + budget

    def full(b):
        return b + _epilogue(b) if keep_epilogue else b

    def fails(b):
        o = check(rcgc, _text(full(b)), strict, allow_invalid=False)
        return o is not None and o.mismatch is not None

    body = _ddmin(body, fails, deadline)
    if keep_epilogue and ['gc', 'on'] not in body:
        body = full(body)
        keep_epilogue = False
        body = _ddmin(body, fails, deadline)
    for i in range(len(body)):
        for simpler in _simplifications(body[i]):
            if time.monotonic() >= deadline:
                break
            cand = body[:i] + [simpler] + body[i + 1:]
            if fails(cand):
                body[i] = simpler
                break
    renamed = _renumber(body)
    if renamed != body and fails(renamed):
        body = renamed
    return _text(full(body))


def _renumber(ops):
    """ops with objects and weak references named 1, 2, ... in order of
    first appearance."""
    names = ({}, {})

    def rename(kind, x):
        return str(names[kind].setdefault(x, len(names[kind]) + 1))
    out = []
    for t in ops:
        t = list(t)
        op = t[0]
        if op in ('new', 'drop', 'clear'):
            t[1] = rename(0, t[1])
        elif op == 'set':
            t[1], t[3] = rename(0, t[1]), rename(0, t[3])
        elif op == 'weak':
            t[1], t[2] = rename(1, t[1]), rename(0, t[2])
        elif op in ('unweak', 'deref'):
            t[1] = rename(1, t[1])
        out.append(t)
    return out


def _ddmin(body, fails, deadline):
    """Delta debugging: removes chunks of ever smaller size while `fails`."""
    n = 2
    while len(body) >= 2 and time.monotonic() < deadline:
        size = -(-len(body) // n)
        for start in range(0, len(body), size):
            rm = _closure(body, range(start, min(start + size, len(body))))
            cand = [t for i, t in enumerate(body) if i not in rm]
            if cand and fails(cand):
                body = cand
                n = max(n - 1, 2)
                break
            if time.monotonic() >= deadline:
                break
        else:
            if n >= len(body):
                break
            n = min(len(body), 2 * n)
    return body


def _simplifications(t):
    if t[0] == 'weak' and len(t) == 4:
        yield t[:3]
    if t[0] == 'new':
        opts = t[2:]
        if 'resurrect' in opts:
            yield [x if x != 'resurrect' else 'fin' for x in t]
        for x in opts:
            if x in ('fin', 'resurrect'):
                yield [y for y in t if y != x]
        for x in opts:
            if x.startswith('slots='):
                yield [y for y in t if y != x]


# ------------------------------------------------------------------ driver

def _report_shrunk(rcgc, data, strict, name, out_dir, why, repro):
    os.makedirs(out_dir, exist_ok=True)
    o = check(rcgc, data, strict, linenos=False)
    path = os.path.join(out_dir, name + '.trace')
    header = ['# %s: rcgc disagrees with CPython 3.11 (shrunk by difftest.py)' % name]
    header += ['# ' + line for line in str(o.mismatch if o.mismatch else why).splitlines()
               if not line.startswith(('    ', '  preceding'))]
    with open(path, 'wb') as f:
        f.write(('\n'.join(header) + '\n').encode() + data)
    print('shrunk trace (%d operations): %s' % (len(op_linenos(data)), path))
    print(data.decode().rstrip('\n'))
    print('--- CPython 3.11 output')
    print('\n'.join(o.exp.lines))
    print('--- rcgc output (exit status %s)' % o.status)
    print('\n'.join(o.act))
    if o.stderr.strip():
        print('--- rcgc stderr')
        print(o.stderr.rstrip())
    print('--- first mismatch: %s' % (o.mismatch or why))
    print('reproduce: %s' % repro)
    print('           python3 %s --rcgc %s --trace %s%s' % (sys.argv[0], rcgc, path, _replay_flags()))


def _replay_flags():
    """The options of difftest.py that choose replay's options, for a command line."""
    return ''.join(' ' + o for o in replay_options if o in ('--plain', '--fields'))


def _chunks(seeds, n):
    step = max(1, min(50, len(seeds) // (n * 4) or 1))
    return [seeds[i:i + step] for i in range(0, len(seeds), step)]


def random_mode(a):
    seeds = list(range(a.seed, a.seed + a.count))
    jobs = max(1, a.jobs)
    work = [(a.rcgc, c, a.ops, a.strict_order) for c in _chunks(seeds, jobs)]
    t0 = time.monotonic()
    passed = 0
    failures = []
    if jobs == 1:
        results = map(_check_seeds, work)
    else:
        pool = multiprocessing.get_context('fork').Pool(jobs)
        results = pool.imap(_check_seeds, work)
    for n, failed in results:
        passed += n - len(failed)
        failures += failed
    if jobs > 1:
        pool.close()
        pool.join()
    elapsed = time.monotonic() - t0
    print('compared %d random traces of %d+ operations (seeds %d..%d) in %.1fs'
          % (len(seeds), a.ops, seeds[0], seeds[-1], elapsed))
    shrunk = 0
    for seed, valid, why in failures:
        repro = 'python3 %s --rcgc %s --seed %d --count 1%s%s%s' % (
            sys.argv[0], a.rcgc, seed, '' if a.ops == 200 else ' --ops %d' % a.ops,
            ' --strict-order' if a.strict_order else '', _replay_flags())
        print('\n=== seed %d disagrees: %s' % (seed, why.splitlines()[0]))
        shrunk += valid
        if not valid or shrunk > a.max_shrink:
            print('\n'.join(why.splitlines()[1:]))
            print('reproduce: %s' % repro)
            continue
        data = gen.generate(seed, a.ops).encode()
        small = shrink(a.rcgc, data, a.strict_order)
        _report_shrunk(a.rcgc, small, a.strict_order, 'seed-%d' % seed, a.out, why, repro)
    return passed, len(failures)


def trace_mode(a):
    passed = failed = 0
    for path in a.trace:
        with open(path, 'rb') as f:
            data = f.read()
        o = check(a.rcgc, data, a.strict_order)
        if o.mismatch is None:
            passed += 1
            continue
        failed += 1
        print('\n=== %s disagrees: %s' % (path, o.mismatch))
        if a.shrink:
            name = os.path.splitext(os.path.basename(path))[0] + '-shrunk'
            repro = 'python3 %s --rcgc %s --trace %s%s' % (sys.argv[0], a.rcgc, path, _replay_flags())
            _report_shrunk(a.rcgc, shrink(a.rcgc, data, a.strict_order), a.strict_order,
                           name, a.out, o.mismatch, repro)
        else:
            print('--- CPython 3.11 output')
            print('\n'.join(o.exp.lines))
            print('--- rcgc output (exit status %s)' % o.status)
            print('\n'.join(o.act))
    print('compared %d trace files' % len(a.trace))
    return passed, failed


def main(argv):
    ap = argparse.ArgumentParser(description='Compare rcgc replay with CPython 3.11.')
    ap.add_argument('--rcgc', required=True, help='path of the rcgc program')
    ap.add_argument('--seed', type=int, default=1, help='first seed (default 1)')
    ap.add_argument('--count', type=int, default=100, help='number of random traces')
    ap.add_argument('--ops', type=int, default=200, help='operations per random trace')
    ap.add_argument('--jobs', type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument('--trace', nargs='+', metavar='FILE', help='compare these trace files')
    ap.add_argument('--shrink', action='store_true', help='shrink disagreeing trace files too')
    ap.add_argument('--out', default='difftest-failures', help='where shrunk traces go')
    ap.add_argument('--max-shrink', type=int, default=3,
                    help='shrink at most this many disagreeing random traces')
    ap.add_argument('--strict-order', action='store_true',
                    help="also require CPython's exact event order under each operation "
                    '(more than the trace format asks)')
    ap.add_argument('--plain', action='store_true',
                    help='run rcgc with `replay --plain` (objects without a finalizer have no '
                    'destroy hook, so cycles of them may be freed in bulk)')
    ap.add_argument('--fields', action='store_true',
                    help="run rcgc with `replay --fields` (each object's slots are its type's "
                    'registered fields, read without traverse)')
    a = ap.parse_args(argv[1:])
    if a.plain:
        replay_options.append('--plain')
    if a.fields:
        replay_options.append('--fields')
    if sys.version_info[:2] != oracle.REQUIRED_VERSION:
        print('skipped: CPython 3.11 is required as the oracle (found %d.%d)' % sys.version_info[:2])
        return SKIP_STATUS
    if not os.access(a.rcgc, os.X_OK):
        sys.stderr.write('difftest: %s is not an executable program\n' % a.rcgc)
        return 2
    passed, failed = trace_mode(a) if a.trace else random_mode(a)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
