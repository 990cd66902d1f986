#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# in BUILD_DIR and runs each for SECONDS seconds on a copy of its seed corpus
# (BUILD_DIR/fuzz-run/NAME/corpus; the repository's corpus is not modified).
# Prints executions, executions per second and coverage per target. Exits
# non-zero if a target finds a crash, a leak, a timeout or a broken invariant;
# the input is then under BUILD_DIR/fuzz-run/NAME/artifacts/ and the log in
# BUILD_DIR/fuzz-run/NAME/log.
#
#   ./fuzz/run.sh [BUILD_DIR [SECONDS [TARGET...]]]     (defaults: build-fuzz 60 replay graph)
set -uo pipefail
cd "$(dirname "$0")/.."

build=${1:-build-fuzz}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(replay graph)

die() { echo "fuzz/run.sh: $*" >&2; exit 2; }

case $seconds in ''|*[!0-9]*) die "SECONDS must be a whole number, not '$seconds'";; esac
command -v clang >/dev/null || die "clang is not installed (libFuzzer comes with clang); Debian: apt-get install clang"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' > "$probe/p.c"
clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>"$probe/err" ||
  die "clang cannot link with -fsanitize=fuzzer (libFuzzer missing): $(head -n 3 "$probe/err")"

if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^RCGC_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  die "$build is configured without RCGC_FUZZ; remove it or choose another directory"
fi
cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRCGC_FUZZ=ON -DRCGC_SANITIZE=ON -DRCGC_BUILD_TESTS=OFF -DRCGC_BUILD_BENCH=OFF >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log" >&2; die "configuration failed"; }
rm -f "$build.configure.log"
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" --target $(printf 'fuzz_%s ' "${targets[@]}") ||
  die "build failed"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=0
summary=()
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  [ -x "$exe" ] || die "no target fuzz_$t"
  [ -d "fuzz/corpus/$t" ] || die "no seed corpus fuzz/corpus/$t"
  work=$build/fuzz-run/$t
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp fuzz/corpus/"$t"/* "$work/corpus/"
  echo "== fuzz_$t for ${seconds} s (log: $work/log)"
  "$exe" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 -timeout=20 -rss_limit_mb=2048 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$work/log" | grep -E ' cov: ' | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  line=$(printf 'fuzz_%-7s executions %s, %s exec/s, cov %s, ft %s, corpus %s' \
    "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")
  if [ $rc -ne 0 ]; then
    status=1
    found=$(ls "$work/artifacts" 2>/dev/null | head -n 5 | sed "s|^|$work/artifacts/|" | tr '\n' ' ')
    line="$line: FAILED (exit $rc) ${found:-no input saved}"
    grep -E '^(fuzz: |==[0-9]+==ERROR|SUMMARY: )' "$work/log" | head -n 5
  fi
  summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit $status
