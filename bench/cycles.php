<?php
/*
 * Cycle collection on PHP 8, a peer of bench/cycles.c: N instances of a class
 * with two declared properties in 2-object cycles, unreachable
 * (case=unreachable) or each pair held from an array (case=reachable), then
 * one timed gc_collect_cycles(). The cycle collector is off while the objects
 * are made (gc_disable), and the collection is run with it on again. PHP's is
 * CPython's kind of collector, reference counts and a trial deletion of
 * internal references, but it examines only its buffer of possible roots:
 * objects whose count went down to a number above 0. Here every object is one
 * (the loop's variables move on from each pair, and the count of each object
 * goes down by one), so both cases examine the N objects. The number
 * gc_collect_cycles() returns is checked.
 *
 * Usage: php cycles.php [--tiny] [n=N] [case=unreachable|reachable]
 */
require __DIR__ . '/benchutil.php';

final class Pair
{
    public ?Pair $first = null;
    public ?Pair $second = null;
}

function build(int $n, ?array &$roots): void
{
    for ($i = 0; $i < intdiv($n, 2); $i++) {
        $a = new Pair();
        $b = new Pair();
        $a->first = $b;
        $b->first = $a;
        if ($roots !== null) {
            $roots[] = $a;
        }
    }
}

function measure(int $n, bool $reachable): float
{
    gc_enable();
    gc_collect_cycles();
    gc_disable();
    $roots = $reachable ? [] : null;
    build($n, $roots);
    $roots_before = gc_status()['roots'];
    gc_enable();
    $t0 = hrtime(true);
    $found = gc_collect_cycles();
    $t1 = hrtime(true);
    $want = $reachable ? 0 : $n;
    if ($found !== $want) {
        bench_fail('cycles', "gc_collect_cycles() returned $found, expected $want");
    }
    if ($roots_before < $n) {
        bench_fail('cycles', "$roots_before possible roots, expected $n");
    }
    if ($reachable && count($roots) !== intdiv($n, 2)) {
        bench_fail('cycles', 'pairs lost');
    }
    return $t1 - $t0;
}

$args = bench_parse_args($argv);
$n = bench_arg_int($args, 'n', $args['tiny'] ? 10000 : 1000000);
$n += $n & 1;
$which = $args['case'] ?? 'both';
foreach (['unreachable', 'reachable'] as $case) {
    if ($which !== 'both' && $which !== $case) {
        continue;
    }
    $ns = measure($n, $case === 'reachable');
    $name = $case . '-' . bench_count_str($n);
    bench_result('cycles', 'php', $name, 'time_per_object', $ns / $n, 'ns');
    bench_result('cycles', 'php', $name, 'time', $ns / 1e6, 'ms');
}
