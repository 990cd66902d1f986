#!/usr/bin/env bash
# Runs every C test program (the executables built from tests/test_*.c; the
# script-driven tests are not included) under valgrind memcheck:
#
#   tests/memcheck.sh [BUILD_DIR]        (default build-memcheck; `make memcheck`)
#
# BUILD_DIR is configured with -DRCGC_VALGRIND=ON (rcgc announces its own
# blocks to memcheck, so a use after free inside rcgc's pages is an error too)
# and -DCMAKE_BUILD_TYPE=Debug, and built. Each program runs with
#   --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
#   --show-leak-kinds=definite,indirect
# and the largest sizes scaled down by RCGC_TEST_SCALE (default 0.01: the
# 10-million-object tests make 100,000), JOBS programs at a time (default: the
# number of processors). Valgrind's report goes to one log per process in
# BUILD_DIR/memcheck/; this prints each program's ERROR SUMMARY and leak
# figures, then the totals, and exits non-zero when a program fails, has a
# memcheck error or loses memory definitely or indirectly. A program that
# exits 77 counts as skipped.
set -u

BUILD=${1:-build-memcheck}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "memcheck.sh: valgrind is not installed (Debian: apt-get install -y valgrind)" >&2
    exit 2
fi

cmake -S "$ROOT" -B "$BUILD" -DRCGC_VALGRIND=ON -DCMAKE_BUILD_TYPE=Debug -DRCGC_BUILD_BENCH=OFF >/dev/null ||
    { echo "memcheck.sh: cmake could not configure $BUILD" >&2; exit 2; }
if ! cmake --build "$BUILD" -j "$JOBS" >"$BUILD/memcheck-build.log" 2>&1; then
    tail -n 40 "$BUILD/memcheck-build.log" >&2
    echo "memcheck.sh: the build failed (log: $BUILD/memcheck-build.log)" >&2
    exit 2
fi

LOGS=$(cd "$BUILD" && pwd)/memcheck
rm -rf "$LOGS"
mkdir -p "$LOGS"
export RCGC_TEST_SCALE=${RCGC_TEST_SCALE:-0.01}
export RCGC_TEST_VALGRIND=1

# One program: valgrind logs in $LOGS/NAME.PID.log (a forked child gets its
# own), the program's output in $LOGS/NAME.out, "STATUS SECONDS" in
# $LOGS/NAME.status.
run_one() {
    local name=$1 start status
    start=$(date +%s)
    if [ -x "$BUILD/tests/$name" ]; then
        (cd "$BUILD/tests" && valgrind --error-exitcode=99 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            --log-file="$LOGS/$name.%p.log" "./$name") >"$LOGS/$name.out" 2>&1
        status=$?
    else
        echo "$BUILD/tests/$name was not built" >"$LOGS/$name.out"
        status=2
    fi
    echo "$status $(( $(date +%s) - start ))" >"$LOGS/$name.status"
}

# The slowest first, so that the others fill in beside them.
programs=()
for name in test_stress test_deep test_oom_scenarios test_oom test_collect; do
    [ -f "$ROOT/tests/$name.c" ] && programs+=("$name")
done
for src in "$ROOT"/tests/test_*.c; do
    name=$(basename "$src" .c)
    case " ${programs[*]} " in *" $name "*) ;; *) programs+=("$name") ;; esac
done

started=$(date +%s)
running=0
for name in "${programs[@]}"; do
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    run_one "$name" &
    running=$((running + 1))
done
wait

# Sums a number from the lines of a program's logs that match a pattern.
sum_logs() {
    local name=$1 pattern=$2 total=0 v
    for log in "$LOGS/$name".*.log; do
        [ -f "$log" ] || continue
        v=$(sed -n "s/.*$pattern.*/\\1/p" "$log" | tr -d , | tail -n 1)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

total_errors=0 total_definite=0 total_indirect=0 failed=0 skipped=0
for name in "${programs[@]}"; do
    read -r status seconds <"$LOGS/$name.status"
    processes=$(ls "$LOGS/$name".*.log 2>/dev/null | wc -l)
    errors=$(sum_logs "$name" 'ERROR SUMMARY: \([0-9,]*\) errors')
    contexts=$(sum_logs "$name" 'ERROR SUMMARY: [0-9,]* errors from \([0-9,]*\) contexts')
    definite=$(sum_logs "$name" 'definitely lost: \([0-9,]*\) bytes')
    indirect=$(sum_logs "$name" 'indirectly lost: \([0-9,]*\) bytes')
    reports=$(cat "$LOGS/$name".*.log 2>/dev/null | grep -c 'ERROR SUMMARY')
    note=""
    [ "$processes" -gt 1 ] && note=" ($processes processes)"
    printf '%-20s ERROR SUMMARY: %s errors from %s contexts%s; definitely lost: %s bytes; indirectly lost: %s bytes; exit %s; %s s\n' \
        "$name" "$errors" "$contexts" "$note" "$definite" "$indirect" "$status" "$seconds"
    total_errors=$((total_errors + errors))
    total_definite=$((total_definite + definite))
    total_indirect=$((total_indirect + indirect))
    if [ "$status" = 77 ]; then
        skipped=$((skipped + 1))
    elif [ "$status" != 0 ] || [ "$errors" != 0 ] || [ "$definite" != 0 ] || [ "$indirect" != 0 ] ||
         [ "$reports" = 0 ]; then
        failed=$((failed + 1))
        echo "---- $name: the last lines of its output ($LOGS/$name.out)" >&2
        tail -n 30 "$LOGS/$name.out" >&2
        for log in "$LOGS/$name".*.log; do
            [ -f "$log" ] || continue
            echo "---- $log" >&2
            tail -n 60 "$log" >&2
        done
    fi
done
echo "memcheck: ERROR SUMMARY: $total_errors errors; definitely lost: $total_definite bytes; indirectly lost: $total_indirect bytes"
echo "memcheck: RCGC_TEST_SCALE=$RCGC_TEST_SCALE, $JOBS at a time, $(( $(date +%s) - started )) s"
echo "memcheck: $(( ${#programs[@]} - failed - skipped )) passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
