<?php
/*
 * Helpers of the PHP peers (bench/*.php): the command line, the result line
 * read by bench/run.sh, resident-memory readings. Each peer prints the same
 * lines as the C programs (bench/bench.h):
 *
 *     @result <bench> <variant> <case> <metric> <value> <unit>
 *
 * and exits with status 1 when a result it computed is wrong. Times come
 * from hrtime(), the monotonic clock.
 */

/* The peers hold up to a few hundred MB of objects: no limit. */
ini_set('memory_limit', '-1');

/* --tiny, --quick and NAME=VALUE settings, as the C programs take them. */
function bench_parse_args(array $argv): array
{
    $args = ['tiny' => false, 'quick' => false];
    foreach (array_slice($argv, 1) as $a) {
        if ($a === '--tiny') {
            $args['tiny'] = true;
        } elseif ($a === '--quick') {
            $args['quick'] = true;
        } elseif (strpos($a, '=') !== false) {
            [$k, $v] = explode('=', $a, 2);
            $args[$k] = $v;
        } else {
            fwrite(STDERR, "$argv[0]: unknown argument $a (use --tiny, --quick or NAME=VALUE)\n");
            exit(2);
        }
    }
    return $args;
}

function bench_arg_int(array $args, string $name, int $default): int
{
    if (!isset($args[$name])) {
        return $default;
    }
    if (!is_numeric($args[$name])) {
        fwrite(STDERR, "$name must be a number, not {$args[$name]}\n");
        exit(2);
    }
    return (int)(float)$args[$name];
}

/* n as "1eK" when it is a power of ten, else in decimal (bench_count_str). */
function bench_count_str(int $n): string
{
    for ($e = 0, $p = 1; $p < $n; $e++) {
        $p *= 10;
    }
    return $p === $n ? "1e$e" : (string)$n;
}

function bench_result(string $bench, string $variant, string $case, string $metric, float $value, string $unit): void
{
    /* PHP's %g writes exponents as e+6 where C writes e+06: both read as the same number. */
    printf("@result %s %s %s %s %.6g %s\n", $bench, $variant, $case, $metric, $value, $unit);
}

function bench_fail(string $bench, string $what): void
{
    fwrite(STDERR, "$bench: wrong result: $what\n");
    exit(1);
}

/* A field of /proc/self/status (VmRSS, VmHWM) in bytes, 0 if unavailable. */
function bench_proc_status_bytes(string $field): int
{
    $text = @file_get_contents('/proc/self/status');
    if ($text === false || !preg_match('/^' . $field . ':\s*(\d+)/m', $text, $m)) {
        return 0;
    }
    return (int)$m[1] * 1024;
}

/* The resident set in bytes, to subtract from a later peak: read twice, as
   bench.h's bench_rss_baseline does, so that the code of the first read is
   resident before the one that counts. */
function bench_rss_baseline_bytes(): int
{
    bench_proc_status_bytes('VmRSS');
    return bench_proc_status_bytes('VmRSS');
}
