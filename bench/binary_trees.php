<?php
/*
 * binary-trees on PHP 8, a peer of bench/binary_trees.c: the Computer
 * Language Benchmarks Game's PHP program, a node an array [left, right]
 * (variant php-arrays; its leaf [null, null] is a constant array of the
 * compiled code, never allocated, as CPython's (None, None) is), or an
 * instance of a class with two declared properties, every node allocated
 * (variant php-objects, as CPython's __slots__ class). The cycle collector
 * is on at its defaults. Reports the wall time of the whole run and the
 * cycle collector's runs; node counts are checked.
 *
 * Usage: php binary_trees.php [--tiny] [depth=N] [variant=arrays|objects]
 */
require __DIR__ . '/benchutil.php';

function bottom_up_array(int $depth): array
{
    if (!$depth) {
        return [null, null];
    }
    $depth--;
    return [bottom_up_array($depth), bottom_up_array($depth)];
}

function check_array(array $node): int
{
    return 1 + ($node[0] === null ? 0 : check_array($node[0]) + check_array($node[1]));
}

final class Node
{
    public function __construct(public ?Node $left, public ?Node $right)
    {
    }
}

function bottom_up_object(int $depth): Node
{
    if (!$depth) {
        return new Node(null, null);
    }
    $depth--;
    return new Node(bottom_up_object($depth), bottom_up_object($depth));
}

function check_object(Node $node): int
{
    return 1 + ($node->left === null ? 0 : check_object($node->left) + check_object($node->right));
}

function expect(int $got, int $iterations, int $depth): void
{
    $want = $iterations * ((2 << $depth) - 1);
    if ($got !== $want) {
        bench_fail('binary-trees', "depth $depth: check $got, expected $want");
    }
}

function run(callable $make, callable $check, int $max_depth): void
{
    $min_depth = 4;
    $stretch_depth = $max_depth + 1;
    expect($check($make($stretch_depth)), 1, $stretch_depth);
    $long_lived = $make($max_depth);
    for ($depth = $min_depth; $depth <= $max_depth; $depth += 2) {
        $iterations = 1 << ($max_depth - $depth + $min_depth);
        $total = 0;
        for ($i = 0; $i < $iterations; $i++) {
            $total += $check($make($depth));
        }
        expect($total, $iterations, $depth);
    }
    expect($check($long_lived), 1, $max_depth);
}

$args = bench_parse_args($argv);
$depth = max(6, bench_arg_int($args, 'depth', $args['tiny'] ? 6 : 16));
$variant = $args['variant'] ?? 'arrays';
$fns = ['arrays' => ['bottom_up_array', 'check_array'], 'objects' => ['bottom_up_object', 'check_object']];
if (!isset($fns[$variant])) {
    fwrite(STDERR, "variant must be arrays or objects\n");
    exit(2);
}
$runs = gc_status()['runs'];
$t0 = hrtime(true);
run($fns[$variant][0], $fns[$variant][1], $depth);
$t1 = hrtime(true);
bench_result('binary-trees', "php-$variant", "depth$depth", 'time', ($t1 - $t0) / 1e9, 's');
bench_result('binary-trees', "php-$variant", "depth$depth", 'gc_runs', gc_status()['runs'] - $runs, 'count');
