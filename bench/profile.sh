#!/usr/bin/env bash
# bench/profile.sh [BUILD_DIR]: where rcgc spends its time in the cycle
# collection, binary-trees and GCBench benchmarks.
#
# Records each of these with `perf record` and prints the top symbols by self
# time (`perf report --stdio`); without a working perf it uses valgrind's
# callgrind on smaller sizes and prints the top functions by instructions:
#   cycles-unreachable  bench_cycles n=4e6 case=unreachable, the collection only
#   cycles-reachable    bench_cycles n=4e6 case=reachable, the collection only
#   binary-trees        bench_binary_trees depth=16, the whole program
#   gcbench             bench_gcbench, the whole program (callgrind: the same)
# For the collection alone, perf starts disabled and the program enables it
# around rcgc_collect through a FIFO (bench_perf in bench/bench.h); callgrind
# collects inside rcgc_collect only.
#
# The summaries are written to bench/results/profile-NAME.txt (or
# BENCH_PROFILE_OUT), where the next `make bench` puts them into
# docs/benchmarks.md. Settings: PROFILE_TOP=N symbols (default 20),
# PROFILE_TOOL=perf or callgrind (default: perf when it works).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
OUT=${BENCH_PROFILE_OUT:-$ROOT/bench/results}
TOP=${PROFILE_TOP:-20}

[ -f "$BUILD/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD" > /dev/null || exit 1
cmake --build "$BUILD" --target bench_cycles bench_binary_trees bench_gcbench > /dev/null || exit 1
BIN=$(cd "$BUILD" && pwd)/bench
mkdir -p "$OUT" || exit 1
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

TOOL=${PROFILE_TOOL:-}
if [ -n "$TOOL" ]; then
    :
elif command -v perf > /dev/null && perf record -o "$TMP/probe.data" -- true > /dev/null 2>&1; then
    TOOL=perf
elif command -v valgrind > /dev/null && command -v callgrind_annotate > /dev/null; then
    TOOL=callgrind
else
    echo "neither perf nor valgrind is usable (apt-get install -y linux-perf valgrind)" >&2
    exit 1
fi
echo "profiling with $TOOL"

# profile NAME PHASE COMMAND...: PHASE "collection" records only what the
# program brackets with bench_perf() (perf) or rcgc_collect (callgrind); "all"
# records the whole program. callgrind runs the smaller size in $SMALL.
profile() {
    local name=$1 phase=$2
    shift 2
    local file=$OUT/profile-$name.txt what="the whole program"
    [ "$phase" = collection ] && what="the collection only"
    local cmd="bench/$(basename "$1")"
    [ $# -gt 1 ] && cmd+=" ${*:2}"
    if [ "$TOOL" = perf ]; then
        local opts=()
        if [ "$phase" = collection ]; then
            rm -f "$TMP/ctl" "$TMP/ack"
            mkfifo "$TMP/ctl" "$TMP/ack" || return 1
            opts=(-D -1 --control "fifo:$TMP/ctl,$TMP/ack")
        fi
        BENCH_PERF_CTL=$TMP/ctl BENCH_PERF_ACK=$TMP/ack \
            perf record -q -F 8000 "${opts[@]}" -o "$TMP/$name.data" -- "$@" > /dev/null 2> "$TMP/err" ||
            { cat "$TMP/err" >&2; return 1; }
        {
            echo "perf record -- $cmd ($what), $(date -u '+%Y-%m-%d'); top $TOP symbols by self time"
            perf report -i "$TMP/$name.data" --stdio --no-children --sort symbol 2> /dev/null |
                grep -v '^#' | grep -v '^[[:space:]]*$' |
                sed 's/\([[:space:]]\+-\)*[[:space:]]*$//' | head -n "$TOP"
        } > "$file"
    else
        local opts=()
        [ "$phase" = collection ] && opts=(--collect-atstart=no --toggle-collect=rcgc_collect)
        valgrind --tool=callgrind "${opts[@]}" --callgrind-out-file="$TMP/$name.out" "$@" $SMALL \
            > /dev/null 2> "$TMP/err" || { cat "$TMP/err" >&2; return 1; }
        {
            echo "valgrind --tool=callgrind -- $cmd${SMALL:+, with $SMALL instead} ($what), $(date -u '+%Y-%m-%d'); top $TOP functions by instructions"
            callgrind_annotate "$TMP/$name.out" 2> /dev/null |
                awk '/^-+$/ { dashes++; next } dashes >= 3 && NF' | head -n "$TOP"
        } > "$file"
    fi
    echo
    echo "== $name ($file)"
    cat "$file"
}

SMALL="n=5e5"
profile cycles-unreachable collection "$BIN/bench_cycles" n=4e6 case=unreachable
profile cycles-reachable collection "$BIN/bench_cycles" n=4e6 case=reachable
SMALL="depth=12"
profile binary-trees all "$BIN/bench_binary_trees" depth=16
SMALL=""
profile gcbench all "$BIN/bench_gcbench"
