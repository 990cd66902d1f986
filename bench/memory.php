<?php
/*
 * Memory on PHP 8, a peer of bench/memory.c: N objects with two reference
 * slots kept alive as a chain, as instances of a class with two declared
 * properties (variant=objects) or as arrays [next, null] (variant=arrays).
 * Reports the bytes PHP's allocator counts per object (memory_get_usage
 * before and after), the overhead over 16 payload bytes, and the peak
 * resident set (VmHWM) minus the resident set before the objects were made.
 *
 * Usage: php memory.php [--tiny] [n=N] [variant=objects|arrays]
 */
require __DIR__ . '/benchutil.php';

const PAYLOAD = 16;

final class Node
{
    public function __construct(public ?Node $first, public ?Node $second)
    {
    }
}

$args = bench_parse_args($argv);
$n = bench_arg_int($args, 'n', $args['tiny'] ? 20000 : 1000000);
$variant = $args['variant'] ?? 'objects';
if ($variant !== 'objects' && $variant !== 'arrays') {
    fwrite(STDERR, "variant must be objects or arrays\n");
    exit(2);
}

$baseline = bench_rss_baseline_bytes();
$before = memory_get_usage();
$head = null;
if ($variant === 'objects') {
    for ($i = 0; $i < $n; $i++) {
        $head = new Node($head, null);
    }
} else {
    for ($i = 0; $i < $n; $i++) {
        $head = [$head, null];
    }
}
$peak = bench_proc_status_bytes('VmHWM');
$block = (memory_get_usage() - $before) / $n;

$count = 0;
for ($x = $head; $x !== null; $x = $variant === 'objects' ? $x->first : $x[0]) {
    $count++;
}
if ($count !== $n) {
    bench_fail('memory', 'the chain lost objects');
}

/* Released from the head, one object at a time: PHP releases a chain held by its
   head recursively, and a million levels overflow its stack. */
while ($head !== null) {
    $head = $variant === 'objects' ? $head->first : $head[0];
}

$case = 'two-slot-' . bench_count_str($n);
bench_result('memory', "php-$variant", $case, 'block', $block, 'B');
bench_result('memory', "php-$variant", $case, 'overhead', $block - PAYLOAD, 'B');
if ($baseline > 0 && $peak > $baseline) {
    bench_result('memory', "php-$variant", $case, 'peak_rss_per_object', ($peak - $baseline) / $n, 'B');
    bench_result('memory', "php-$variant", $case, 'peak_rss', ($peak - $baseline) / 1048576, 'MiB');
}
