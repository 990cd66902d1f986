#!/usr/bin/env bash
# Line and branch coverage of the library (src/) by the test suite, with gcc's
# gcov:
#
#   tests/coverage.sh [BUILD_DIR]        (default build-coverage; `make coverage`)
#
# BUILD_DIR is configured with gcc, -DCMAKE_BUILD_TYPE=Debug and
# `--coverage -O0 -fprofile-update=atomic` (test_threads runs the library on
# several threads at once, whose plain counter updates would race: gcov then
# reported branches taken "-0%"), and built; the counters of an earlier run
# are removed and the suite runs under ctest, except the install checks (a
# consumer built outside the tree does not link gcov's runtime). Then, for
# each file of src/, this prints the lines executed and the branches taken at
# least once, and leaves the annotated sources in BUILD_DIR/coverage/
# (FILE.gcov: `#####` marks a line never run, `branch N taken 0%` a branch
# never taken). Exits non-zero when the build or a test fails.
set -u

BUILD=${1:-build-coverage}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

command -v gcov >/dev/null 2>&1 || { echo "coverage.sh: gcov is not installed (it comes with gcc)" >&2; exit 2; }

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="--coverage -O0 -fprofile-update=atomic" >/dev/null || exit 1
cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null || exit 1
BUILD=$(cd "$BUILD" && pwd)
find "$BUILD" -name '*.gcda' -delete

status=0
(cd "$BUILD" && ctest -E '^install\.' -j "$(nproc 2>/dev/null || echo 2)" --output-on-failure) > "$BUILD/coverage-ctest.log" 2>&1 || status=1
grep -E 'tests passed|tests failed' "$BUILD/coverage-ctest.log"

objdir=$BUILD/CMakeFiles/rcgc_static.dir/src
out=$BUILD/coverage
rm -rf "$out"
mkdir -p "$out"
(cd "$out" && gcov -b "$objdir"/*.gcda > gcov.txt 2>&1) || { cat "$out/gcov.txt" >&2; exit 1; }

# gcov's summary: "File 'PATH'", then "Lines executed:P% of N", "Branches
# executed:...", "Taken at least once:P% of N", ... per source file, and a
# total line at the end. Only the .c files: gcov reports a header's inline
# functions once per file that includes it. src/check.c holds the debug
# build's checks only (RCGC_DEBUG), so it has no line here.
printf '%-20s %24s %30s\n' file lines 'branches taken'
awk -v root="$ROOT/" '
    /^File / { f = $2; gsub("\047", "", f); keep = index(f, root "src/") == 1 && f ~ /\.c$/; f = substr(f, length(root) + 1); next }
    /^$/ { keep = 0 }
    keep && /^Lines executed:/ { split($0, a, ":"); lines[f] = a[2]; order[++n] = f }
    keep && /^Taken at least once:/ { split($0, a, ":"); taken[f] = a[2] }
    END { for (i = 1; i <= n; i++) { f = order[i]; printf "%-20s %24s %30s\n", f, lines[f], (f in taken ? taken[f] : "-") } }
' "$out/gcov.txt"
echo "annotated sources: $out/*.gcov"
exit $status
