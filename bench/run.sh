#!/usr/bin/env bash
# bench/run.sh [BUILD_DIR]: the benchmark suite (`make bench`).
#
# Builds the benchmark programs in BUILD_DIR (default: build), finds which
# peers are there (CPython 3.11, mimalloc, the Boehm collector, Lua 5.4,
# PHP 8, gnuplot) and
# says which are skipped, runs every variant of every benchmark BENCH_REPS times
# (default 5), interleaved: each repetition runs every variant once, in turn, so
# that a slow minute of the machine touches all of them alike. Then
# bench/report.py prints one table per benchmark (median, min-max, ratio to
# rcgc) and regenerates the report with its plots.
#
# Where the results go:
#   a full run             bench/results/ (raw CSV, machine, disassembly),
#                          docs/benchmarks.md, docs/bench-*.svg and the
#                          figures of README.md's "Speed and size"
#   a partial run          BUILD_DIR/bench-report/ (same files), so that a
#   (BENCH_QUICK, ONLY,    quick look never overwrites the committed figures
#   DEPTHS, REPS < 5)
#
# Settings (environment):
#   BENCH_REPS=N      repetitions (default 5)
#   BENCH_QUICK=1     smaller sizes: binary-trees depth 16 only, cycles up to
#                     10^6 objects, shorter allocation loops (about 2 minutes)
#   BENCH_ONLY="..."  only these benchmarks: refcount alloc binary-trees
#                     gcbench cycles pauses memory levers
#   BENCH_ALL=1       also CPython's __slots__, Lua's and PHP's binary-trees
#                     at depth 20 (about 4 minutes a repetition, left out by
#                     default)
#   BENCH_DEPTHS="16 20"  binary-trees depths (default 16 20; quick: 16)
#   BENCH_PYTHON=PATH the CPython 3.11 to run (default: see "Peers" below)
#   BENCH_OUT=DIR     write the results and the report under DIR instead
#   BENCH_REPORT_ONLY=1   run nothing: make the tables and the report again
#                     from the results already there (after bench/profile.sh)
#   BENCH_CPU=N       the CPU every program runs on (default 0, with taskset;
#                     BENCH_CPU=any lets the scheduler choose). On the 2-CPU
#                     machine the figures come from, a program the scheduler
#                     moved between CPUs ran up to 1.7 times slower than one
#                     that stayed, and medians of 5 swung with it.
#
# Nothing is installed here; missing peers are skipped. To have them all:
#   apt-get install -y libmimalloc-dev libgc-dev lua5.4 php-cli gnuplot
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
REPS=${BENCH_REPS:-5}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-}
CPU=${BENCH_CPU:-0}
ALL=${BENCH_ALL:-0}
REPORT_ONLY=${BENCH_REPORT_ONLY:-0}

case $REPS in
    ''|*[!0-9]*|0) echo "BENCH_REPS must be a positive number" >&2; exit 2 ;;
esac

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# ---- Build ------------------------------------------------------------------

cache_value() {
    sed -n "s/^$1:[A-Z]*=//p" "$BUILD/CMakeCache.txt" | head -n 1
}

BIN=$BUILD/bench
BUILD_TYPE=
if [ "$REPORT_ONLY" != 1 ]; then
    echo "== building in $BUILD"
    # Configuring again picks up peers installed since the last time.
    cmake -S "$ROOT" -B "$BUILD" > "$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log" >&2; exit 1; }
    cmake --build "$BUILD" -j "$(nproc 2> /dev/null || echo 2)" --target bench_programs > "$TMP/build.log" 2>&1 || {
        tail -n 30 "$TMP/build.log" >&2
        echo "build failed: cmake --build $BUILD --target bench_programs" >&2
        exit 1
    }
    BUILD=$(cd "$BUILD" && pwd)
    BIN=$BUILD/bench
    if [ ! -x "$BIN/bench_refcount" ]; then
        echo "no benchmark programs in $BIN (configured with -DRCGC_BUILD_BENCH=OFF?)" >&2
        exit 1
    fi

    BUILD_TYPE=$(cache_value CMAKE_BUILD_TYPE)
    for opt in RCGC_SANITIZE RCGC_DEBUG RCGC_TSAN RCGC_VALGRIND; do
        if [ "$(cache_value $opt)" = ON ]; then
            echo "warning: $BUILD has $opt=ON: its figures do not represent rcgc's speed"
        fi
    done
    if [ "$BUILD_TYPE" = Debug ]; then
        echo "warning: $BUILD is a Debug build (-O0): its figures do not represent rcgc's speed"
    fi
fi

# ---- Peers ------------------------------------------------------------------

echo "== peers"
# CPython 3.11: BENCH_PYTHON if set; else, of python3, python3.11 and
# /usr/bin/python3.11, the first whose interpreter has libpython linked in,
# or failing that the first found. A build with --enable-shared (pyenv's, for
# one) runs the interpreter from a shared libpython, through position-
# independent calls, which made GCBench 1.2 times as long here as Debian's
# statically linked python3.11: the peer is the fastest CPython at hand.
is_py311() {
    command -v "$1" > /dev/null && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2> /dev/null
}
py_exe() {
    "$1" -c 'import sys; print(sys.executable)'
}
py_linkage() {
    if ldd "$(py_exe "$1")" 2> /dev/null | grep -q libpython; then echo "shared libpython"; else echo "libpython linked in"; fi
}
PY=
if [ -n "${BENCH_PYTHON:-}" ]; then
    is_py311 "$BENCH_PYTHON" && PY=$BENCH_PYTHON ||
        echo "skipped: BENCH_PYTHON=$BENCH_PYTHON is not CPython 3.11"
else
    for cand in python3 python3.11 /usr/bin/python3.11; do
        is_py311 "$cand" || continue
        [ -n "$PY" ] || PY=$cand
        if [ "$(py_linkage "$cand")" = "libpython linked in" ]; then
            PY=$cand
            break
        fi
    done
fi
if [ -n "$PY" ]; then
    echo "CPython: $($PY -c 'import sys; print(sys.version.split()[0])') ($(py_exe "$PY"), $(py_linkage "$PY"))"
elif [ -z "${BENCH_PYTHON:-}" ]; then
    echo "skipped: CPython 3.11 not installed (apt-get install -y python3.11)"
fi
HAVE_MIMALLOC=0
HAVE_BOEHM=0
if [ -x "$BIN/bench_alloc_mimalloc" ]; then
    HAVE_MIMALLOC=1
    echo "mimalloc: found"
else
    echo "skipped: mimalloc not installed (apt-get install -y libmimalloc-dev)"
fi
if [ -x "$BIN/bench_binary_trees_boehm" ]; then
    HAVE_BOEHM=1
    echo "Boehm GC: found"
else
    echo "skipped: Boehm GC not installed (apt-get install -y libgc-dev)"
fi
LUA=
for cand in lua5.4 lua; do
    if command -v "$cand" > /dev/null && [ "$("$cand" -e 'io.write(_VERSION)' 2> /dev/null)" = "Lua 5.4" ]; then
        LUA=$cand
        break
    fi
done
if [ -n "$LUA" ]; then
    echo "Lua: $("$LUA" -v 2>&1 | cut -d ' ' -f 2) ($(command -v $LUA))"
else
    echo "skipped: Lua 5.4 not installed (apt-get install -y lua5.4)"
fi
PHP=
if command -v php > /dev/null && php -r 'exit(PHP_MAJOR_VERSION >= 8 ? 0 : 1);' 2> /dev/null; then
    PHP=php
    echo "PHP: $(php -r 'echo PHP_VERSION;') ($(command -v php))"
else
    echo "skipped: PHP 8 not installed (apt-get install -y php-cli)"
fi
HAVE_GNUPLOT=0
if command -v gnuplot > /dev/null; then
    HAVE_GNUPLOT=1
    echo "gnuplot: found"
else
    echo "skipped: plots, gnuplot not installed (apt-get install -y gnuplot)"
fi
REPORT_PY=
for cand in "$PY" python3; do
    if [ -n "$cand" ] && command -v "$cand" > /dev/null; then
        REPORT_PY=$cand
        break
    fi
done

# ---- What to run ------------------------------------------------------------

# One line per run: BENCH|VARIANT|command. Each repetition runs them all.
RUNS=()
want() {
    [ -z "$ONLY" ] && return 0
    case " $ONLY " in *" $1 "*) return 0 ;; esac
    return 1
}
add() {
    RUNS+=("$1|$2|$3")
}
c_peers() {     # c_peers PROGRAM: the C peers built for bench_PROGRAM
    local p
    for p in malloc mimalloc boehm; do
        [ -x "$BIN/bench_$1_$p" ] && echo "$p"
    done
}
QARG=
[ "$QUICK" = 1 ] && QARG=--quick

if want refcount; then
    add refcount rcgc "$BIN/bench_refcount $QARG"
fi
if want alloc; then
    add alloc rcgc "$BIN/bench_alloc $QARG"
    for p in $(c_peers alloc); do add alloc "$p" "$BIN/bench_alloc_$p $QARG"; done
fi
if want binary-trees; then
    DEPTHS=${BENCH_DEPTHS:-16 20}
    [ "$QUICK" = 1 ] && DEPTHS=${BENCH_DEPTHS:-16}
    for d in $DEPTHS; do
        add binary-trees rcgc "$BIN/bench_binary_trees depth=$d"
        add binary-trees rcgc-mutable "$BIN/bench_binary_trees depth=$d nodes=mutable"
        add binary-trees rcgc-shared-leaves "$BIN/bench_binary_trees depth=$d leaves=shared"
        add binary-trees rcgc-untracked "$BIN/bench_binary_trees depth=$d track=needed"
        add binary-trees rcgc-huge-pages "$BIN/bench_binary_trees depth=$d pages=huge"
        for p in $(c_peers binary_trees); do
            add binary-trees "$p" "$BIN/bench_binary_trees_$p depth=$d"
        done
        if [ -n "$PY" ]; then
            add binary-trees cpython-tuples "$PY $ROOT/bench/binary_trees.py depth=$d variant=tuples"
            if [ "$d" -le 16 ] || [ "$ALL" = 1 ]; then
                add binary-trees cpython-slots "$PY $ROOT/bench/binary_trees.py depth=$d variant=slots"
            fi
        fi
        if [ "$d" -le 16 ] || [ "$ALL" = 1 ]; then
            if [ -n "$LUA" ]; then
                add binary-trees lua "$LUA $ROOT/bench/binary_trees.lua depth=$d"
                add binary-trees lua-generational "$LUA $ROOT/bench/binary_trees.lua depth=$d mode=generational"
            fi
            if [ -n "$PHP" ]; then
                add binary-trees php-arrays "$PHP $ROOT/bench/binary_trees.php depth=$d variant=arrays"
                add binary-trees php-objects "$PHP $ROOT/bench/binary_trees.php depth=$d variant=objects"
            fi
        fi
    done
fi
if want gcbench; then
    add gcbench rcgc "$BIN/bench_gcbench"
    add gcbench rcgc-huge-pages "$BIN/bench_gcbench pages=huge"
    for p in $(c_peers gcbench); do add gcbench "$p" "$BIN/bench_gcbench_$p"; done
    [ -n "$PY" ] && add gcbench cpython-slots "$PY $ROOT/bench/gcbench.py"
    if [ -n "$LUA" ]; then
        add gcbench lua "$LUA $ROOT/bench/gcbench.lua"
        add gcbench lua-generational "$LUA $ROOT/bench/gcbench.lua mode=generational"
    fi
    [ -n "$PHP" ] && add gcbench php "$PHP $ROOT/bench/gcbench.php"
fi
if want cycles; then
    SIZES="1e4 1e5 1e6 1e7"
    [ "$QUICK" = 1 ] && SIZES="1e4 1e5 1e6"
    for n in $SIZES; do
        for c in unreachable reachable; do
            add cycles rcgc "$BIN/bench_cycles n=$n case=$c"
            [ "$HAVE_BOEHM" = 1 ] && add cycles boehm "$BIN/bench_cycles_boehm n=$n case=$c"
            [ -n "$PY" ] && add cycles cpython "$PY $ROOT/bench/cycles.py n=$n case=$c"
            [ -n "$LUA" ] && add cycles lua "$LUA $ROOT/bench/cycles.lua n=$n case=$c"
            [ -n "$PHP" ] && add cycles php "$PHP $ROOT/bench/cycles.php n=$n case=$c"
        done
    done
fi
if want pauses; then
    add pauses rcgc "$BIN/bench_pauses"
    [ -n "$PY" ] && add pauses cpython "$PY $ROOT/bench/pauses.py"
fi
if want memory; then
    add memory rcgc "$BIN/bench_memory"
    for p in $(c_peers memory); do add memory "$p" "$BIN/bench_memory_$p"; done
    if [ -n "$PY" ]; then
        add memory cpython-slots "$PY $ROOT/bench/memory.py variant=slots"
        add memory cpython-tuples "$PY $ROOT/bench/memory.py variant=tuples"
    fi
    [ -n "$LUA" ] && add memory lua "$LUA $ROOT/bench/memory.lua"
    if [ -n "$PHP" ]; then
        add memory php-objects "$PHP $ROOT/bench/memory.php variant=objects"
        add memory php-arrays "$PHP $ROOT/bench/memory.php variant=arrays"
    fi
fi
if want levers; then
    for v in rcgc rcgc-fields; do
        add levers "$v" "$BIN/bench_levers case=fields variant=$v n=1e5"
        add levers "$v" "$BIN/bench_levers case=fields variant=$v n=1e6"
    done
    for v in rcgc rcgc-items; do add levers "$v" "$BIN/bench_levers case=items variant=$v n=1e6"; done
    [ -n "$PY" ] && add levers cpython "$PY $ROOT/bench/levers.py case=items n=1e6"
    for v in rcgc rcgc-entries; do add levers "$v" "$BIN/bench_levers case=entries variant=$v n=1e6"; done
    [ -n "$PY" ] && add levers cpython "$PY $ROOT/bench/levers.py case=entries n=1e6"
    for v in rcgc rcgc-immutable rcgc-untracked; do add levers "$v" "$BIN/bench_levers case=trees variant=$v"; done
    for v in rcgc rcgc-frozen; do add levers "$v" "$BIN/bench_levers case=freeze variant=$v"; done
    for v in rcgc rcgc-destroy rcgc-finalizer; do add levers "$v" "$BIN/bench_levers case=hooks variant=$v"; done
    for v in rcgc rcgc-prepended; do add levers "$v" "$BIN/bench_levers case=order variant=$v"; done
    for v in rcgc rcgc-no-scratch; do add levers "$v" "$BIN/bench_levers case=scattered variant=$v"; done
    [ -n "$PY" ] && add levers cpython "$PY $ROOT/bench/levers.py case=scattered"
fi
if [ ${#RUNS[@]} -eq 0 ]; then
    echo "nothing to run (BENCH_ONLY=$ONLY?)" >&2
    exit 2
fi

# ---- Where the results go ---------------------------------------------------

README_ARG=()
if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT"
    OUT=$(cd "$BENCH_OUT" && pwd)
    DOC=$OUT/benchmarks.md
    PLOTS=$OUT
elif [ "$QUICK" = 1 ] || [ -n "$ONLY" ] || [ -n "${BENCH_DEPTHS:-}" ] || [ "$REPS" -lt 5 ]; then
    OUT=$BUILD/bench-report
    DOC=$OUT/benchmarks.md
    PLOTS=$OUT
else
    OUT=$ROOT/bench/results
    DOC=$ROOT/docs/benchmarks.md
    PLOTS=$ROOT/docs
    README_ARG=(--readme "$ROOT/README.md")
fi
mkdir -p "$OUT" "$PLOTS"
CSV=$OUT/results.csv

if [ "$REPORT_ONLY" = 1 ]; then
    [ -f "$CSV" ] || { echo "no results to report on: $CSV" >&2; exit 1; }
    [ -n "$REPORT_PY" ] || { echo "python3 is needed to make the tables" >&2; exit 1; }
    GNUPLOT_ARG=
    [ "$HAVE_GNUPLOT" = 1 ] && GNUPLOT_ARG=--gnuplot
    exec "$REPORT_PY" "$ROOT/bench/report.py" --results "$OUT" --doc "$DOC" --plots "$PLOTS" \
        --root "$ROOT" $GNUPLOT_ARG "${README_ARG[@]}"
fi

# ---- The machine ------------------------------------------------------------

compiler_version() {
    [ -n "$1" ] && command -v "$1" > /dev/null && "$1" --version 2> /dev/null | head -n 1
}
CC_PATH=$(cache_value CMAKE_C_COMPILER)
CC_REAL=$(basename "$(readlink -f "$CC_PATH" 2> /dev/null || echo "$CC_PATH")")
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2> /dev/null | head -n 1)"
    # The model name alone ("AMD EPYC" under a hypervisor) does not tell one
    # processor generation from another.
    echo "cpu family/model/stepping: $(awk -F '[[:space:]]*: ' '$1 == "cpu family" { f = $2 } $1 == "model" { m = $2 }
        $1 == "stepping" { s = $2; print f "/" m "/" s; exit }' /proc/cpuinfo 2> /dev/null)"
    echo "caches of CPU 0: $(for c in /sys/devices/system/cpu/cpu0/cache/index*; do
        [ -r "$c/size" ] && printf 'L%s%s %s, ' "$(cat "$c/level")" "$(sed 's/Data/d/; s/Instruction/i/; s/Unified//' "$c/type")" "$(cat "$c/size")"
        done | sed 's/, $//')"
    echo "cores: $(nproc 2> /dev/null)"
    echo "memory: $(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2> /dev/null)"
    echo "kernel: $(uname -srm)"
    echo "os: $(. /etc/os-release 2> /dev/null && echo "$PRETTY_NAME")"
    echo "compiler: $CC_REAL: $(compiler_version "$CC_PATH")"
    echo "gcc: $(compiler_version gcc)"
    echo "clang: $(compiler_version clang)"
    echo "build: $BUILD_TYPE ($(cache_value CMAKE_C_FLAGS_$(echo "$BUILD_TYPE" | tr a-z A-Z)))"
    [ -n "$PY" ] && echo "cpython: $($PY -c 'import sys; print(sys.version.split()[0])') ($(py_exe "$PY"), $(py_linkage "$PY"))"
    [ -n "$LUA" ] && echo "lua: $("$LUA" -v 2>&1 | cut -d ' ' -f 2)"
    [ -n "$PHP" ] && echo "php: $(php -r 'echo PHP_VERSION, ", opcache for the command line ",
        ini_get("opcache.enable_cli") ? "on" : "off";' 2> /dev/null)"
    [ "$HAVE_MIMALLOC" = 1 ] && echo "mimalloc: $(dpkg-query -W -f '${Version}' libmimalloc-dev 2> /dev/null ||
        sed -n 's/^#define MI_MALLOC_VERSION *//p' /usr/include/mimalloc.h)"
    [ "$HAVE_BOEHM" = 1 ] && echo "boehm: $(pkg-config --modversion bdw-gc 2> /dev/null ||
        dpkg-query -W -f '${Version}' libgc-dev 2> /dev/null)"
    [ "$HAVE_GNUPLOT" = 1 ] && echo "gnuplot: $(gnuplot --version)"
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null)
    if [ -n "$rev" ]; then
        if [ -n "$(git -C "$ROOT" status --porcelain -- src include 2> /dev/null)" ]; then
            rev="$rev with local changes to src/ or include/"
        fi
        echo "rcgc: $rev"
    fi
    echo "reps: $REPS"
    mode=full
    [ "$QUICK" = 1 ] && mode=quick
    [ -n "$ONLY" ] && mode="$mode, only: $ONLY"
    echo "mode: $mode"
    echo "load average at start: $(cut -d ' ' -f 1-3 /proc/loadavg 2> /dev/null)"
} > "$OUT/machine.txt"

# What rcgc_incref + rcgc_decref compile to (see bench/refcount.c).
if command -v objdump > /dev/null; then
    objdump -d --no-show-raw-insn "$BIN/bench_refcount" 2> /dev/null |
        awk '/^[0-9a-f]+ <bench_refcount_pair>:/ { on = 1 } on && /^$/ { exit } on' |
        sed 's/[[:space:]]*$//' > "$OUT/refcount-disasm.txt"
fi

# ---- Run --------------------------------------------------------------------

PIN=
PINNED="no CPU"
if [ "$CPU" != any ] && command -v taskset > /dev/null && taskset -c "$CPU" true 2> /dev/null; then
    PIN="taskset -c $CPU"
    PINNED="CPU $CPU"
fi
echo "pinned to: $PINNED" >> "$OUT/machine.txt"
echo "== running ${#RUNS[@]} programs x $REPS repetitions, interleaved, pinned to $PINNED"
echo "rep,bench,variant,case,metric,value,unit" > "$CSV"
FAILED=0
START=$(date +%s)
for rep in $(seq 1 "$REPS"); do
    printf 'rep %d/%d ' "$rep" "$REPS"
    for run in "${RUNS[@]}"; do
        cmd=${run#*|}
        cmd=${cmd#*|}
        # shellcheck disable=SC2086
        if $PIN $cmd > "$TMP/out" 2> "$TMP/err"; then
            printf '.'
            awk -v rep="$rep" '$1 == "@result" && NF == 7 {
                printf "%s,%s,%s,%s,%s,%s,%s\n", rep, $2, $3, $4, $5, $6, $7 }' "$TMP/out" >> "$CSV"
        else
            status=$?
            printf 'F'
            FAILED=$((FAILED + 1))
            {
                echo
                echo "FAILED (exit $status): $cmd"
                tail -n 5 "$TMP/err"
            } >> "$TMP/failures"
        fi
    done
    echo " $(($(date +%s) - START)) s"
done
if [ -f "$TMP/failures" ]; then
    cat "$TMP/failures"
fi
{
    echo "load average at end: $(cut -d ' ' -f 1-3 /proc/loadavg 2> /dev/null)"
    echo "duration: $(( ($(date +%s) - START + 30) / 60 )) min"
} >> "$OUT/machine.txt"

# ---- Report -----------------------------------------------------------------

if [ -z "$REPORT_PY" ]; then
    echo "python3 is needed to make the tables; raw results: $CSV"
    exit 1
fi
GNUPLOT_ARG=
[ "$HAVE_GNUPLOT" = 1 ] && GNUPLOT_ARG=--gnuplot
"$REPORT_PY" "$ROOT/bench/report.py" --results "$OUT" --doc "$DOC" --plots "$PLOTS" \
    --root "$ROOT" $GNUPLOT_ARG "${README_ARG[@]}" || exit 1
echo
echo "raw results: $CSV"
echo "report: $DOC"
[ "$FAILED" -eq 0 ] || { echo "$FAILED runs failed (above)"; exit 1; }
