<?php
/*
 * GCBench on PHP 8, a peer of bench/gcbench.c (Ellis, Kovac, Boehm): a node
 * is an instance of a class with two references and two ints, the long-lived
 * array a PHP array of floats. The cycle collector is on at its defaults.
 * Reports the wall time of the whole run and the cycle collector's runs.
 *
 * Usage: php gcbench.php [--tiny]
 */
require __DIR__ . '/benchutil.php';

final class Node
{
    public int $i = 0;
    public int $j = 0;

    public function __construct(public ?Node $left = null, public ?Node $right = null)
    {
    }
}

function tree_size(int $depth): int
{
    return (1 << ($depth + 1)) - 1;
}

function populate(int $depth, Node $node): void
{
    if ($depth <= 0) {
        return;
    }
    $depth--;
    $node->left = new Node();
    $node->right = new Node();
    populate($depth, $node->left);
    populate($depth, $node->right);
}

function make_tree(int $depth): Node
{
    if ($depth <= 0) {
        return new Node();
    }
    return new Node(make_tree($depth - 1), make_tree($depth - 1));
}

function count_nodes(?Node $node): int
{
    return $node === null ? 0 : 1 + count_nodes($node->left) + count_nodes($node->right);
}

$args = bench_parse_args($argv);
[$stretch_depth, $long_lived_depth, $min_depth, $max_depth, $array_size] =
    $args['tiny'] ? [8, 6, 4, 6, 5000] : [18, 16, 4, 16, 500000];

$runs = gc_status()['runs'];
$t0 = hrtime(true);
make_tree($stretch_depth);
$long_lived = new Node();
populate($long_lived_depth, $long_lived);
$array = array_fill(0, $array_size, 0.0);
for ($i = 1; $i < intdiv($array_size, 2); $i++) {
    $array[$i] = 1.0 / $i;
}
for ($depth = $min_depth; $depth <= $max_depth; $depth += 2) {
    $iters = intdiv(2 * tree_size($stretch_depth), tree_size($depth));
    for ($k = 0; $k < $iters; $k++) {
        populate($depth, new Node());
    }
    for ($k = 0; $k < $iters; $k++) {
        make_tree($depth);
    }
}
if ($array[1000] !== 1.0 / 1000) {
    bench_fail('gcbench', 'the long-lived array changed');
}
$t1 = hrtime(true);
if (count_nodes($long_lived) !== tree_size($long_lived_depth)) {
    bench_fail('gcbench', 'the long-lived tree lost nodes');
}
bench_result('gcbench', 'php', 'default', 'time', ($t1 - $t0) / 1e9, 's');
bench_result('gcbench', 'php', 'default', 'gc_runs', gc_status()['runs'] - $runs, 'count');
