#!/usr/bin/env python3
"""Compares CPython's output for a trace (oracle.py) with `rcgc replay --echo`.

What must agree (the trace format's "Agreement with CPython 3.11", and more):
* Traces without `gc on`: the same echoed operations, and under each of them
  the same events as multisets. Under `count`, the same counts: the format
  only asks for the shape `count C0 C1 C2`, because CPython's counts include
  the interpreter's own objects, but the oracle keeps those out (except in
  the rare traces it marks as not exact: there, only the shape, and traces
  with `gc on` only as the format asks). Under `collect`, `collect G N` comes
  last, and every weakref callback run by the collector comes before every
  finalizer run by the collector. The oracle marks which `fin` events came
  from the collector's finalization step: a `fin` from a refcount
  deallocation inside the collection (an older object freed when the trash
  is cleared) is followed by its own `cb` events in CPython too, so the rule
  "every cb before every fin" is only checked for the collector's own.
* Traces with `gc on`: the same as above up to the first `unfreeze` (the
  format asks less), so automatic collections must start at the same
  operations. After an `unfreeze`, CPython's generation 2 holds the
  interpreter's objects, whose number the long-lived rule weighs; from there
  on, as the format asks: the same `fin` events over the whole trace (each at
  most once), and the same events under the trailing run of `deref`
  operations (the final deref results).
* A trace the oracle rejects must stop rcgc at the same line with status 2,
  with the same output for the operations before that line.
With strict_order (not asked by the trace format), the events under each
operation compared one by one must also come in CPython's order.

usage: python3 compare.py CPYTHON_OUTPUT RCGC_OUTPUT   (files; treated as a
trace without `gc on`, no collector marks: every cb before every fin)
"""
import collections
import re
import sys

_COUNT_RE = re.compile(r'^count [0-9]+ [0-9]+ [0-9]+$')


def blocks(lines):
    """Splits output lines into (events before the first echo, [(op, events)])."""
    head = []
    out = []
    for line in lines:
        if line.startswith('> '):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
        else:
            head.append(line)
    return head, out


def _fmt(events):
    return ', '.join(events) if events else '(nothing)'


class Mismatch:
    """The first disagreement: `index` (0-based operation), `op`, and text."""

    def __init__(self, index, op, text, lineno=None):
        self.index = index
        self.op = op
        self.text = text
        self.lineno = lineno

    def __str__(self):
        where = 'operation %d' % (self.index + 1) if self.index is not None else 'the whole trace'
        if self.lineno is not None:
            where += ' (trace line %d)' % self.lineno
        if self.op is not None:
            where += ': > %s' % self.op
        return '%s\n%s' % (where, self.text)


def _event_diff(exp, act):
    ce, ca = collections.Counter(exp), collections.Counter(act)
    text = '  CPython: %s\n  rcgc:    %s' % (_fmt(exp), _fmt(act))
    missing = list((ce - ca).elements())
    extra = list((ca - ce).elements())
    if missing:
        text += '\n  missing in rcgc:    %s' % _fmt(missing)
    if extra:
        text += '\n  unexpected in rcgc: %s' % _fmt(extra)
    return text


def _compare_block(op, exp, act, gc_fins, strict_order, exact):
    """None if the events under one operation agree, else the explanation."""
    if op == 'count':
        if len(act) != 1 or not _COUNT_RE.match(act[0]):
            return '  expected one line `count C0 C1 C2`\n  rcgc:    %s' % _fmt(act)
        if exact and act != exp:
            return '  the counts differ\n  CPython: %s\n  rcgc:    %s' % (_fmt(exp), _fmt(act))
        return None
    if collections.Counter(exp) != collections.Counter(act):
        return _event_diff(exp, act)
    if strict_order and exp != act:
        return '  same events in another order (--strict-order)\n' + _event_diff(exp, act)
    if op.startswith('collect ') and exp:
        if act[-1] != exp[-1]:
            return '  `%s` must come last\n  rcgc:    %s' % (exp[-1], _fmt(act))
        collector_fins = set(e for e in exp if e in gc_fins)
        if collector_fins:
            first = next(i for i, e in enumerate(exp) if e in collector_fins)
            collector_cbs = set(e for e in exp[:first] if e.startswith('cb '))
            last_cb = max((i for i, e in enumerate(act) if e in collector_cbs), default=-1)
            first_fin = min(i for i, e in enumerate(act) if e in collector_fins)
            if last_cb > first_fin:
                return ('  the collector must run weakref callbacks (%s) before finalizers (%s)\n'
                        '  CPython: %s\n  rcgc:    %s'
                        % (_fmt(sorted(collector_cbs)), _fmt(sorted(collector_fins)),
                           _fmt(exp), _fmt(act)))
    return None


def _context(exp_blocks, index, n=6):
    lines = []
    for op, ev in exp_blocks[max(0, index - n):index]:
        lines.append('    > ' + op)
        lines.extend('    ' + e for e in ev)
    if not lines:
        return ''
    return '\n  preceding operations (CPython):\n' + '\n'.join(lines)


def compare(exp_lines, act_lines, gc_fins=None, act_status=0, act_stderr='',
            exp_error_lineno=None, op_linenos=None, strict_order=False, exact=True):
    """None when rcgc's output agrees with CPython's, else a Mismatch.

    exp_lines: the oracle's --echo output; gc_fins: the oracle's set of `fin`
    events that came from the collector's finalization step (None: every fin
    counts as the collector's); act_status/act_stderr: rcgc's exit status and
    standard error; exp_error_lineno: the line the oracle rejected, or None;
    op_linenos: trace line number of each operation, for messages;
    strict_order: also require CPython's exact event order (more than the
    trace format asks); exact: whether the oracle's counts are the trace's
    alone (oracle.Result.exact), else the counts are compared only for their
    shape and a trace with `gc on` only as the format asks."""
    def lineno(i):
        if op_linenos is not None and i is not None and i < len(op_linenos):
            return op_linenos[i]
        return None

    exp_head, exp_blocks = blocks(exp_lines)
    act_head, act_blocks = blocks(act_lines)
    if act_head:
        return Mismatch(None, None, '  rcgc printed before the first operation: %s' % _fmt(act_head))
    if exp_error_lineno is not None:
        if act_status != 2 or not act_stderr.startswith('trace:%d:' % exp_error_lineno):
            return Mismatch(len(exp_blocks), None,
                            '  CPython rejects trace line %d; rcgc exited with status %s, stderr: %s'
                            % (exp_error_lineno, act_status, act_stderr.strip()[:300] or '(empty)'))
        if len(act_blocks) == len(exp_blocks) + 1:
            act_blocks = act_blocks[:-1]
    elif act_status != 0:
        return Mismatch(len(act_blocks), None,
                        '  rcgc exited with status %s after %d operations, stderr: %s'
                        % (act_status, len(act_blocks), act_stderr.strip()[:300] or '(empty)'))
    for i, ((eop, _), (aop, _)) in enumerate(zip(exp_blocks, act_blocks)):
        if eop != aop:
            return Mismatch(i, eop, '  rcgc echoed `%s` instead' % aop, lineno(i))
    if len(act_blocks) != len(exp_blocks):
        i = min(len(act_blocks), len(exp_blocks))
        return Mismatch(i, None, '  CPython ran %d operations, rcgc %d'
                        % (len(exp_blocks), len(act_blocks)), lineno(i))
    if gc_fins is None:
        gc_fins = set(e for _, ev in exp_blocks for e in ev if e.startswith('fin '))
    end = len(exp_blocks)
    gc_on = any(op == 'gc on' for op, _ in exp_blocks)
    if gc_on and not exact:
        end = 0
    elif gc_on:
        end = next((i for i, (op, _) in enumerate(exp_blocks) if op == 'unfreeze'), end)
    for i, ((op, exp), (_, act)) in enumerate(zip(exp_blocks[:end], act_blocks)):
        why = _compare_block(op, exp, act, gc_fins, strict_order, exact)
        if why is not None:
            return Mismatch(i, op, why + _context(exp_blocks, i), lineno(i))
    if gc_on:
        return _compare_gc_on(exp_blocks, act_blocks, lineno)
    return None


def _compare_gc_on(exp_blocks, act_blocks, lineno):
    def fins(bl):
        return collections.Counter(e for _, ev in bl for e in ev if e.startswith('fin '))
    fe, fa = fins(exp_blocks), fins(act_blocks)
    twice = sorted(e for e, c in fa.items() if c > 1)
    if twice:
        return Mismatch(None, None, '  (trace with `gc on`) rcgc finalized twice: %s' % _fmt(twice))
    if fe != fa:
        return Mismatch(None, None,
                        '  (trace with `gc on`) the fin events over the whole trace differ\n'
                        '  missing in rcgc:    %s\n  unexpected in rcgc: %s'
                        % (_fmt(sorted((fe - fa).elements())), _fmt(sorted((fa - fe).elements()))))
    start = len(exp_blocks)
    while start > 0 and exp_blocks[start - 1][0].startswith('deref '):
        start -= 1
    for i in range(start, len(exp_blocks)):
        op, exp = exp_blocks[i]
        act = act_blocks[i][1]
        if exp != act:
            return Mismatch(i, op, '  (trace with `gc on`) final deref result differs\n'
                            + _event_diff(exp, act), lineno(i))
    return None


def _read(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read().splitlines()


def main(argv):
    if len(argv) != 3:
        sys.stderr.write('usage: compare.py CPYTHON_OUTPUT RCGC_OUTPUT\n')
        return 2
    m = compare(_read(argv[1]), _read(argv[2]))
    if m is None:
        print('agree')
        return 0
    print('first mismatch at %s' % m)
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
