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
    list.clear); objects saved meanwhile stay in the new list."""
    items = _REC.saved[:]
    _REC.saved.clear()
    for addr in reversed(items):
        _release(addr)


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
    for k in range(1, MAX_SLOTS + 1):
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
    if not (tok.isascii() and tok.isdigit()) or len(tok) > 12:
        raise TraceError(lineno, 'bad %s %r' % (what, tok))
    v = int(tok)
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
    from a refcount deallocation), `error` (TraceError or None)."""
    __slots__ = ('lines', 'gc_fins', 'error', 'noise')

    def __init__(self, lines, gc_fins, error, noise):
        self.lines = lines
        self.gc_fins = gc_fins
        self.error = error
        self.noise = noise


def run_trace(data, echo=True, check_noise=False):
    """Runs one trace (bytes or str) on CPython and returns a Result.

    With check_noise, DEBUG_SAVEALL is set and after each `collect` the
    garbage list is checked to hold only trace objects; Result.noise lists the
    foreign objects found (the other results are then not meaningful)."""
    if sys.version_info[:2] != REQUIRED_VERSION:
        raise RuntimeError('CPython %d.%d is required as the oracle' % REQUIRED_VERSION)
    raw_lines = split_lines(data)
    was_enabled = gc.isenabled()
    old_thresholds = gc.get_threshold()
    old_debug = gc.get_debug()
    gc.disable()
    gc.set_threshold(*CPYTHON_THRESHOLDS)
    _REC.out = []
    _settle()
    # The interpreter's own objects go to the permanent generation, so that
    # the trace's collections only scan the trace's objects (they only ever
    # see the interpreter's objects as external referrers either way).
    gc.freeze()
    out = []
    _REC.out = out
    _REC.gc_fins = gc_fins_at = []
    noise = []
    froze = [False]
    if check_noise:
        gc.set_debug(gc.DEBUG_SAVEALL)
    objs = {}
    weaks = {}
    try:
        error = None
        try:
            _execute(raw_lines, echo, objs, weaks, out, noise if check_noise else None, froze)
        except TraceError as e:
            error = TraceError(e.lineno, e.msg)
        gc_fins = frozenset(out[i] for i in gc_fins_at)
    finally:
        _reset(objs, weaks, froze[0], old_thresholds, was_enabled, old_debug)
    return Result(out, gc_fins, error, noise)


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


def _execute(raw_lines, echo, objs, weaks, out, noise, froze):
    used_ids = set()
    used_ws = set()
    classes = _CLASSES
    get = PyObj_FromPtr
    for lineno, raw in enumerate(raw_lines, 1):
        if len(raw) > MAX_LINE_BYTES:
            raise TraceError(lineno, 'line longer than %d bytes' % MAX_LINE_BYTES)
        if b'\0' in raw:
            raise TraceError(lineno, 'NUL byte')
        tok = strip_comment(raw.decode('latin-1'))
        if not tok:
            continue
        op = tok[0]
        n = len(tok)
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
                k = _num(rest[0][6:], lineno, 1, MAX_SLOTS, 'slot count')
                rest.pop(0)
            if rest:
                raise TraceError(lineno, 'new: unexpected %r' % rest[0])
            if oid in used_ids:
                raise TraceError(lineno, 'ID %d is not new' % oid)
            used_ids.add(oid)
            if echo:
                out.append('> ' + ' '.join(tok))
            objs[oid] = _hold(classes[k, kind]())
            get(objs[oid]).id = oid
        elif op == 'set' or op == 'clear':
            if n != (4 if op == 'set' else 3):
                raise TraceError(lineno, '%s: wrong number of tokens' % op)
            a = _num(tok[1], lineno, 1, MAX_NAME, 'ID')
            i = _num(tok[2], lineno, 0, MAX_SLOTS - 1, 'slot')
            if a not in objs:
                raise TraceError(lineno, 'ID %d is not held' % a)
            if op == 'set':
                b = _num(tok[3], lineno, 1, MAX_NAME, 'ID')
                if b not in objs:
                    raise TraceError(lineno, 'ID %d is not held' % b)
            if i >= _slot_count(get(objs[a])):
                raise TraceError(lineno, 'slot %d out of range for ID %d' % (i, a))
            if echo:
                out.append('> ' + ' '.join(tok))
            if op == 'set':
                setattr(get(objs[a]), _SLOT_NAMES[i], get(objs[b]))
            else:
                setattr(get(objs[a]), _SLOT_NAMES[i], None)
        elif op == 'drop':
            if n != 2:
                raise TraceError(lineno, 'drop: wrong number of tokens')
            a = _num(tok[1], lineno, 1, MAX_NAME, 'ID')
            if a not in objs:
                raise TraceError(lineno, 'ID %d is not held' % a)
            if echo:
                out.append('> ' + ' '.join(tok))
            _release(objs.pop(a))
        elif op == 'weak':
            if n not in (3, 4) or (n == 4 and tok[3] != 'cb'):
                raise TraceError(lineno, 'weak: wrong tokens')
            w = _num(tok[1], lineno, 1, MAX_NAME, 'W')
            a = _num(tok[2], lineno, 1, MAX_NAME, 'ID')
            if w in used_ws:
                raise TraceError(lineno, 'W %d is not new' % w)
            if a not in objs:
                raise TraceError(lineno, 'ID %d is not held' % a)
            used_ws.add(w)
            if echo:
                out.append('> ' + ' '.join(tok))
            if n == 4:
                weaks[w] = _Weak(get(objs[a]), _weak_callback)
            else:
                weaks[w] = _Weak(get(objs[a]))
            weaks[w].w = w
        elif op == 'unweak' or op == 'deref':
            if n != 2:
                raise TraceError(lineno, '%s: wrong number of tokens' % op)
            w = _num(tok[1], lineno, 1, MAX_NAME, 'W')
            if w not in weaks:
                raise TraceError(lineno, 'W %d is not held' % w)
            if echo:
                out.append('> ' + ' '.join(tok))
            if op == 'unweak':
                del weaks[w]
            else:
                out.append(_deref_line(w, weaks[w]()))
        elif op == 'collect':
            if n != 2:
                raise TraceError(lineno, 'collect: wrong number of tokens')
            g = _num(tok[1], lineno, 0, 2, 'generation')
            if echo:
                out.append('> ' + ' '.join(tok))
            found = gc.collect(g)
            out.append('collect %d %d' % (g, found))
            if noise is not None:
                _check_noise(lineno, noise)
        elif op == 'unsave':
            if n != 1:
                raise TraceError(lineno, 'unsave: wrong number of tokens')
            if echo:
                out.append('> unsave')
            _unsave()
        elif op == 'gc':
            if n != 2 or tok[1] not in ('on', 'off'):
                raise TraceError(lineno, 'gc: expected on or off')
            if echo:
                out.append('> ' + ' '.join(tok))
            if tok[1] == 'on':
                gc.enable()
            else:
                gc.disable()
        elif op == 'threshold':
            if n < 2 or n > 4:
                raise TraceError(lineno, 'threshold: wrong number of tokens')
            ts = [_num(t, lineno, 0, MAX_THRESHOLD, 'threshold') for t in tok[1:]]
            if echo:
                out.append('> ' + ' '.join(tok))
            gc.set_threshold(*ts)
        elif op == 'count':
            if n != 1:
                raise TraceError(lineno, 'count: wrong number of tokens')
            if echo:
                out.append('> count')
            out.append('count %d %d %d' % gc.get_count())
        elif op == 'freeze' or op == 'unfreeze':
            if n != 1:
                raise TraceError(lineno, '%s: wrong number of tokens' % op)
            if echo:
                out.append('> ' + op)
            if op == 'freeze':
                froze[0] = True
                gc.freeze()
            else:
                gc.unfreeze()
        else:
            raise TraceError(lineno, 'unknown operation %r' % op)


def _slot_count(obj):
    return len(type(obj).__slots__) - 2


def _deref_line(w, referent):
    if referent is None:
        return 'deref %d none' % w
    return 'deref %d %d' % (w, referent.id)


def _check_noise(lineno, noise):
    for o in gc.garbage:
        if not isinstance(o, _NODE_TYPES):
            noise.append('line %d: %s' % (lineno, type(o).__name__))


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
