#!/usr/bin/env python3
"""CPython 3.11 as the oracle for rcgc traces.

Runs a heap trace as the trace format's "Agreement with CPython 3.11" says, on
objects of __slots__ classes, and produces what `rcgc replay --echo` prints. As a module,
run_trace() runs many traces in one process and restores the collector's state
after each; as a command, `python3 oracle.py [--no-echo] FILE|-` prints the
output, or `trace:LINE: what is wrong` on stderr and exits 2.

Every trace object is exactly one GC object (a __slots__ instance without
__dict__). The trace's names and its saved list hold exactly one reference per
entry, and like the references of a C program these are invisible to the
collector: the tables store addresses, and the references are taken and
released with _ctypes.Py_INCREF/Py_DECREF. So no Python container of the
oracle is ever traversed next to the trace's objects, and the collector's list
order depends on the trace alone. The finalizers and weakref callbacks are
module-level functions, so nothing of the oracle can become part of the trash.

A trace is parsed and checked whole before it runs, and the run allocates no
GC object of the oracle's own that CPython would count (_Spares covers the
few it cannot avoid), so generation 0's count is the trace's alone: `count`
prints what rcgc's must print, and automatic collections start at the
allocations where rcgc's must.
"""
import gc
import sys
import weakref
from _ctypes import Py_DECREF, Py_INCREF, PyObj_FromPtr

REQUIRED_VERSION = (3, 11)
MAX_SLOTS = 64
DEFAULT_SLOTS = 4
MAX_NAME = 2 ** 31 - 1
MAX_THRESHOLD = 2 ** 31 - 1
MAX_LINE_BYTES = 4096
CPYTHON_THRESHOLDS = (700, 10, 10)
# Tuples of 1 to TUPLE_MAX_SAVE items have free lists (PyTuple_MAXSAVESIZE).
TUPLE_MAX_SAVE = 20
# A trace that gives an object this many live weak references at once has
# counts that are not the trace's alone (see _Spares).
INEXACT_WEAKREFS = TUPLE_MAX_SAVE // 2

# Inside __del__, sys.getrefcount(self) is 3 on the refcount path (the
# deallocator sets the refcount to 1; the frame's local and the argument add
# 2). On the collector's path the object is alive with refcount >= 1, and
# finalize_garbage adds one more, so the count is at least 4.
_REFCOUNT_PATH_REFS = 3


class TraceError(Exception):
    """An invalid trace: `lineno` is 1-based, `msg` says what is wrong."""

    def __init__(self, lineno, msg):
        super().__init__('trace:%d: %s' % (lineno, msg))
        self.lineno = lineno
        self.msg = msg


class _Recorder:
    """Where finalizers and callbacks report (`saved` holds the addresses of
    the saved list's objects). One instance lives forever."""
    __slots__ = ('out', 'gc_fins', 'saved')

    def __init__(self):
        self.out = []
        self.gc_fins = []
        self.saved = []


_REC = _Recorder()


def _finalize(self):
    rec = _REC
    if sys.getrefcount(self) > _REFCOUNT_PATH_REFS:
        rec.gc_fins.append(len(rec.out))
    rec.out.append('fin %d' % self.id)


def _finalize_resurrect(self):
    rec = _REC
    if sys.getrefcount(self) > _REFCOUNT_PATH_REFS:
        rec.gc_fins.append(len(rec.out))
    rec.out.append('fin %d' % self.id)
    Py_INCREF(self)
    rec.saved.append(id(self))


def _hold(obj):
    """Takes an external reference to obj and returns its address."""
    Py_INCREF(obj)
    return id(obj)


def _release(addr):
    """Releases an external reference taken by _hold (the object may die
    when this returns)."""
    Py_DECREF(PyObj_FromPtr(addr))


def _unsave():
    """Releases every reference in the saved list, last first (like
    list.clear); objects saved meanwhile stay in the list. Indexes instead of
    copying or iterating: neither a list nor an iterator is allocated."""
    saved = _REC.saved
    n = len(saved)
    for i in range(n - 1, -1, -1):
        _release(saved[i])
    del saved[:n]


def _weak_callback(wr):
    _REC.out.append('cb %d' % wr.w)


class _Weak(weakref.ref):
    """A weak reference that knows its trace name (never shared, unlike
    callback-less weakref.ref objects)."""
    __slots__ = ('w',)


# Two digits, because CPython sorts __slots__ names: this way the layout, and
# so the order in which slots are traversed and cleared, is the slot order.
_SLOT_NAMES = tuple('s%02d' % i for i in range(MAX_SLOTS))


def _make_classes():
    classes = {}
    for k in range(0, MAX_SLOTS + 1):
        slots = _SLOT_NAMES[:k] + ('id', '__weakref__')
        classes[k, None] = type('Node%d' % k, (), {'__slots__': slots})
        classes[k, 'fin'] = type('FinNode%d' % k, (), {'__slots__': slots, '__del__': _finalize})
        classes[k, 'resurrect'] = type('ResNode%d' % k, (),
                                       {'__slots__': slots, '__del__': _finalize_resurrect})
    return classes


_CLASSES = _make_classes()
_NODE_TYPES = tuple(_CLASSES.values())


def _warm_up():
    """Instantiates every class once so that first-use caches exist."""
    was_enabled = gc.isenabled()
    gc.disable()
    for cls in _NODE_TYPES:
        o = cls()
        o.id = 0
        w = _Weak(o)
        w.w = 0
        del w, o
    _unsave()
    _REC.out = []
    _REC.gc_fins = []
    gc.collect()
    if was_enabled:
        gc.enable()


_warm_up()


def strip_comment(line):
    """The tokens of one trace line (a str), comments removed."""
    i = line.find('#')
    if i >= 0:
        line = line[:i]
    return [t for t in line.replace('\t', ' ').split(' ') if t]


def _num(tok, lineno, lo, hi, what):
    # Leading zeros are allowed, any number of them (the trace format's
    # numbers are decimal); a number of more than 12 digits is out of range.
    if not (tok.isascii() and tok.isdigit()):
        raise TraceError(lineno, 'bad %s %r' % (what, tok))
    digits = tok.lstrip('0')
    v = int(digits or '0') if len(digits) <= 12 else hi + 1
    if v < lo or v > hi:
        raise TraceError(lineno, '%s %s out of range' % (what, tok))
    return v


def split_lines(data):
    """Splits trace input (bytes or str) into lines (bytes)."""
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    lines = data.split(b'\n')
    if lines and lines[-1] == b'':
        lines.pop()
    return lines


class Result:
    """Output of one run: `lines` (echo lines and events), `gc_fins` (the set
    of `fin ID` events that came from the collector's finalization step, not
    from a refcount deallocation), `error` (TraceError or None), `exact`
    (whether the counts, and so the moments of automatic collections, are the
    trace's alone: see _Spares)."""
    __slots__ = ('lines', 'gc_fins', 'error', 'noise', 'exact')

    def __init__(self, lines, gc_fins, error, noise, exact):
        self.lines = lines
        self.gc_fins = gc_fins
        self.error = error
        self.noise = noise
        self.exact = exact


class _Spare:
    """A GC object of a type without a free list: releasing one lowers
    generation 0's count by one, as an rcgc object's release does."""
    __slots__ = ('x',)


class _Spares:
    """Keeps generation 0's count, and what the collections examine, as the
    trace alone makes them.

    CPython counts every GC object it allocates, including temporaries: a
    tuple or dict is counted when its free list is empty and never uncounted
    when it goes back to the list, and every full collection empties the free
    lists. Besides the trace's objects, the run allocates only tuples: a
    weakref's arguments, gc.get_count's result, and the tuple of callbacks
    that an object with several weak references builds when it dies (twice
    their number of items). So:
    - the free lists of tuples (1 to 20 items) are refilled after each full
      collection with tuples counted before the run (refill_free_lists);
    - after each collection, the count that the collector left (always 0 for
      the trace's objects, which allocate nothing while they are finalized)
      is brought back to 0 by releasing spare objects counted before the run:
      this takes away the collector's own callback dictionary (on_collection);
    - a collection that a weakref's allocation would start is started just
      before it, without the weakref's tuple of arguments (collect_if_due).
    One case is left: an object that dies by its count with 10 or more weak
    references builds a tuple of 20 or more items. CPython 3.11 takes no
    tuple of 20 items from its free list but puts them back in it, and
    counts a larger one when it is made (which can start an automatic
    collection) and uncounts it when it is freed. The parser marks such
    traces as not exact (INEXACT_WEAKREFS)."""

    def __init__(self, ops):
        n = 2 + sum(1 for op in ops if op[0] in (_NEW, _WEAK, _COLLECT))
        self.objs = [_Spare() for _ in range(3 * n)]
        self.tuples = [[tuple([i] * k) for i in range(n)] for k in range(1, TUPLE_MAX_SAVE + 1)]
        self.short = False

    def refill_free_lists(self):
        for pool in self.tuples:
            if pool:
                pool.pop()
            else:
                self.short = True

    def collect_if_due(self):
        """Starts the automatic collection that the next allocation would
        start, if any, and says whether it did. A weakref is made by calling
        its class with a tuple of arguments, which is tracked: the collection
        that the weakref's allocation starts would examine that tuple, move
        it to an older generation, and count it among the long-lived objects.
        A spare's allocation starts that collection instead, without the
        tuple; after the weakref, uncount() makes the count 0, as that
        collection would have left it."""
        t0 = gc.get_threshold()[0]
        if not t0 or gc.get_count()[0] < t0:
            return False
        _Spare()
        return True

    def uncount(self, n=1):
        """Releases n spares: generation 0's count goes down by n (never
        below 0)."""
        objs = self.objs
        if n > len(objs):
            self.short = True
            n = len(objs)
        for _ in range(n):
            objs.pop()

    def on_collection(self, phase, info):
        if phase != 'stop':
            return
        if info['generation'] == 2:
            self.refill_free_lists()
        # The first call's tuple may be counted; the second reads that too,
        # and reuses the first call's tuple from the free list.
        gc.get_count()
        self.uncount(gc.get_count()[0])


def run_trace(data, echo=True, check_noise=False):
    """Runs one trace (bytes or str) on CPython and returns a Result.

    With check_noise, DEBUG_SAVEALL is set and after each `collect` the
    garbage list is checked to hold only trace objects; Result.noise lists the
    foreign objects found (the other results are then not meaningful)."""
    if sys.version_info[:2] != REQUIRED_VERSION:
        raise RuntimeError('CPython %d.%d is required as the oracle' % REQUIRED_VERSION)
    ops, error, exact = _parse(split_lines(data))
    was_enabled = gc.isenabled()
    old_thresholds = gc.get_threshold()
    old_debug = gc.get_debug()
    gc.disable()
    gc.set_threshold(*CPYTHON_THRESHOLDS)
    _REC.out = []
    _settle()
    out = []
    _REC.out = out
    _REC.gc_fins = gc_fins_at = []
    noise = []
    froze = [False]
    if check_noise:
        gc.set_debug(gc.DEBUG_SAVEALL)
    objs = {}
    weaks = {}
    # A dict is tracked from the moment it holds a container. Tracked now, the
    # table of weak references goes to the permanent generation below, instead
    # of joining the trace's generations with its first weak reference.
    weaks[0] = out
    del weaks[0]
    spares = _Spares(ops)
    on_collection = spares.on_collection
    try:
        # The interpreter's own objects, and the oracle's, go to the permanent
        # generation, so that the trace's collections only scan the trace's
        # objects (they only ever see the interpreter's objects as external
        # referrers either way). The full collection that follows finds an
        # empty generation 2, so the collector starts as rcgc's does: the
        # three counts at 0, no long-lived objects.
        gc.freeze()
        gc.collect()
        spares.refill_free_lists()
        gc.callbacks.append(on_collection)
        try:
            _run(ops, echo, objs, weaks, out, noise if check_noise else None, froze, spares)
        finally:
            gc.callbacks.remove(on_collection)
        if spares.short:
            raise RuntimeError('oracle: too few spare objects to keep the counts exact')
        gc_fins = frozenset(out[i] for i in gc_fins_at)
    finally:
        _reset(objs, weaks, froze[0], old_thresholds, was_enabled, old_debug)
    return Result(out, gc_fins, error, noise, exact)


def _settle():
    """Releases the saved list and collects until nothing is resurrected."""
    while True:
        _unsave()
        gc.collect()
        if not _REC.saved:
            break


def _reset(objs, weaks, froze, thresholds, was_enabled, debug):
    """Drops everything the trace made, collects it, unfreezes, and restores
    the collector's settings. Objects the trace froze are collected after the
    unfreeze; otherwise the collection before it only scans the trace's objects."""
    gc.disable()
    _REC.out = []
    _REC.gc_fins = []
    weaks.clear()
    for addr in objs.values():
        _release(addr)
    objs.clear()
    gc.set_debug(debug)
    del gc.garbage[:]
    _settle()
    gc.unfreeze()
    if froze:
        _settle()
    _REC.out = []
    _REC.gc_fins = []
    gc.set_threshold(*thresholds)
    if was_enabled:
        gc.enable()


# Operation codes of a parsed trace.
(_NEW, _SET, _CLEAR, _DROP, _WEAK, _UNWEAK, _DEREF, _COLLECT, _UNSAVE, _GC, _THRESHOLD,
 _COUNT, _FREEZE, _UNFREEZE) = range(14)


def _parse(raw_lines):
    """Checks a whole trace before any of it runs. Returns the operations, each
    a tuple (code, echo line, operands...), the first invalid line's
    TraceError or None, and whether the counts will be exact. Whether a name
    is held depends on the trace alone, so every check can be made here, and
    the operations before an invalid line still run."""
    ops = []
    held = {}
    used_ids = set()
    used_ws = set()
    weak_held = set()
    target = {}
    n_weak = {}
    exact = True
    try:
        for lineno, raw in enumerate(raw_lines, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise TraceError(lineno, 'line longer than %d bytes' % MAX_LINE_BYTES)
            if b'\0' in raw:
                raise TraceError(lineno, 'NUL byte')
            tok = strip_comment(raw.decode('latin-1'))
            if not tok:
                continue
            op = _parse_op(tok, lineno, held, used_ids, used_ws, weak_held)
            ops.append(op)
            if op[0] == _WEAK:
                target[op[2]] = op[3]
                n_weak[op[3]] = n_weak.get(op[3], 0) + 1
                exact = exact and n_weak[op[3]] < INEXACT_WEAKREFS
            elif op[0] == _UNWEAK:
                n_weak[target[op[2]]] -= 1
    except TraceError as e:
        return ops, e, exact
    return ops, None, exact


def _parse_op(tok, lineno, held, used_ids, used_ws, weak_held):
    op = tok[0]
    n = len(tok)
    echo = '> ' + ' '.join(tok)
    if op == 'new':
        if n < 2 or n > 4:
            raise TraceError(lineno, 'new: wrong number of tokens')
        oid = _num(tok[1], lineno, 1, MAX_NAME, 'ID')
        kind = None
        k = DEFAULT_SLOTS
        rest = tok[2:]
        if rest and rest[0] in ('fin', 'resurrect'):
            kind = rest.pop(0)
        if rest:
            if not rest[0].startswith('slots='):
                raise TraceError(lineno, 'new: unexpected %r' % rest[0])
            k = _num(rest[0][6:], lineno, 0, MAX_SLOTS, 'slot count')
            rest.pop(0)
        if rest:
            raise TraceError(lineno, 'new: unexpected %r' % rest[0])
        if oid in used_ids:
            raise TraceError(lineno, 'ID %d is not new' % oid)
        used_ids.add(oid)
        held[oid] = k
        return (_NEW, echo, oid, _CLASSES[k, kind])
    if op == 'set' or op == 'clear':
        if n != (4 if op == 'set' else 3):
            raise TraceError(lineno, '%s: wrong number of tokens' % op)
        a = _num(tok[1], lineno, 1, MAX_NAME, 'ID')
        i = _num(tok[2], lineno, 0, MAX_SLOTS - 1, 'slot')
        if a not in held:
            raise TraceError(lineno, 'ID %d is not held' % a)
        if op == 'set':
            b = _num(tok[3], lineno, 1, MAX_NAME, 'ID')
            if b not in held:
                raise TraceError(lineno, 'ID %d is not held' % b)
        if i >= held[a]:
            raise TraceError(lineno, 'slot %d out of range for ID %d' % (i, a))
        if op == 'set':
            return (_SET, echo, a, _SLOT_NAMES[i], b)
        return (_CLEAR, echo, a, _SLOT_NAMES[i])
    if op == 'drop':
        if n != 2:
            raise TraceError(lineno, 'drop: wrong number of tokens')
        a = _num(tok[1], lineno, 1, MAX_NAME, 'ID')
        if a not in held:
            raise TraceError(lineno, 'ID %d is not held' % a)
        del held[a]
        return (_DROP, echo, a)
    if op == 'weak':
        if n not in (3, 4) or (n == 4 and tok[3] != 'cb'):
            raise TraceError(lineno, 'weak: wrong tokens')
        w = _num(tok[1], lineno, 1, MAX_NAME, 'W')
        a = _num(tok[2], lineno, 1, MAX_NAME, 'ID')
        if w in used_ws:
            raise TraceError(lineno, 'W %d is not new' % w)
        if a not in held:
            raise TraceError(lineno, 'ID %d is not held' % a)
        used_ws.add(w)
        weak_held.add(w)
        return (_WEAK, echo, w, a, _weak_callback if n == 4 else None)
    if op == 'unweak' or op == 'deref':
        if n != 2:
            raise TraceError(lineno, '%s: wrong number of tokens' % op)
        w = _num(tok[1], lineno, 1, MAX_NAME, 'W')
        if w not in weak_held:
            raise TraceError(lineno, 'W %d is not held' % w)
        if op == 'unweak':
            weak_held.discard(w)
            return (_UNWEAK, echo, w)
        return (_DEREF, echo, w)
    if op == 'collect':
        if n != 2:
            raise TraceError(lineno, 'collect: wrong number of tokens')
        return (_COLLECT, echo, _num(tok[1], lineno, 0, 2, 'generation'), lineno)
    if op == 'unsave':
        if n != 1:
            raise TraceError(lineno, 'unsave: wrong number of tokens')
        return (_UNSAVE, echo)
    if op == 'gc':
        if n != 2 or tok[1] not in ('on', 'off'):
            raise TraceError(lineno, 'gc: expected on or off')
        return (_GC, echo, tok[1] == 'on')
    if op == 'threshold':
        if n < 2 or n > 4:
            raise TraceError(lineno, 'threshold: wrong number of tokens')
        return (_THRESHOLD, echo,
                tuple(_num(t, lineno, 0, MAX_THRESHOLD, 'threshold') for t in tok[1:]))
    if op == 'count':
        if n != 1:
            raise TraceError(lineno, 'count: wrong number of tokens')
        return (_COUNT, echo)
    if op == 'freeze' or op == 'unfreeze':
        if n != 1:
            raise TraceError(lineno, '%s: wrong number of tokens' % op)
        return (_FREEZE if op == 'freeze' else _UNFREEZE, echo)
    raise TraceError(lineno, 'unknown operation %r' % op)


def _run(ops, echo, objs, weaks, out, noise, froze, spares):
    """Runs parsed operations. Nothing here allocates a GC object of its own
    but the spare that collect_if_due makes on purpose (no new lists, sets,
    functions or iterators; the few tuples come from CPython's free lists,
    which neither count nor uncount), so generation 0's
    count moves only with the trace's objects and weak references, exactly
    as rcgc's does, and automatic collections start at the same operations."""
    get = PyObj_FromPtr
    for i in range(len(ops)):
        op = ops[i]
        code = op[0]
        if echo:
            out.append(op[1])
        if code == _NEW:
            oid = op[2]
            objs[oid] = _hold(op[3]())
            get(objs[oid]).id = oid
        elif code == _SET:
            setattr(get(objs[op[2]]), op[3], get(objs[op[4]]))
        elif code == _CLEAR:
            setattr(get(objs[op[2]]), op[3], None)
        elif code == _DROP:
            _release(objs.pop(op[2]))
        elif code == _WEAK:
            w = op[2]
            due = gc.isenabled() and spares.collect_if_due()
            if op[4] is None:
                weaks[w] = _Weak(get(objs[op[3]]))
            else:
                weaks[w] = _Weak(get(objs[op[3]]), op[4])
            weaks[w].w = w
            if due:
                spares.uncount()
        elif code == _UNWEAK:
            del weaks[op[2]]
        elif code == _DEREF:
            out.append(_deref_line(op[2], weaks[op[2]]()))
        elif code == _COLLECT:
            g = op[2]
            found = gc.collect(g)
            out.append('collect ' + str(g) + ' ' + str(found))
            if noise is not None:
                _check_noise(op[3], noise)
        elif code == _UNSAVE:
            _unsave()
        elif code == _GC:
            if op[2]:
                gc.enable()
            else:
                gc.disable()
        elif code == _THRESHOLD:
            gc.set_threshold(*op[2])
        elif code == _COUNT:
            out.append('count %d %d %d' % gc.get_count())
        elif code == _FREEZE:
            froze[0] = True
            gc.freeze()
        else:
            gc.unfreeze()


def _deref_line(w, referent):
    if referent is None:
        return 'deref ' + str(w) + ' none'
    return 'deref ' + str(w) + ' ' + str(referent.id)


def _check_noise(lineno, noise):
    garbage = gc.garbage
    for i in range(len(garbage)):
        if not isinstance(garbage[i], _NODE_TYPES):
            noise.append('line %d: %s' % (lineno, type(garbage[i]).__name__))


def main(argv):
    echo = True
    args = argv[1:]
    if args and args[0] == '--no-echo':
        echo = False
        args = args[1:]
    if len(args) != 1:
        sys.stderr.write('usage: oracle.py [--no-echo] FILE|-\n')
        return 2
    if sys.version_info[:2] != REQUIRED_VERSION:
        print('skipped: CPython 3.11 is required as the oracle (found %d.%d)' % sys.version_info[:2])
        return 77
    if args[0] == '-':
        data = sys.stdin.buffer.read()
    else:
        with open(args[0], 'rb') as f:
            data = f.read()
    res = run_trace(data, echo=echo)
    if res.lines:
        sys.stdout.write('\n'.join(res.lines) + '\n')
    sys.stdout.flush()
    if res.error is not None:
        sys.stderr.write(str(res.error) + '\n')
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
