<?php
// Clears php-fpm's APCu cache: all of it, or the keys that start with a prefix.
//
// Called by the SSM document's script on every web node, through the node's own nginx,
// on a server that listens on loopback only (nginx-apcu.conf, the stack's ApcuPort):
//   curl -fsS -X POST [--data-urlencode prefix=user:] http://127.0.0.1:8099/apcu.php
// It must run inside php-fpm: the CLI (artisan) has a cache of its own, so
// apcu_clear_cache() there returns true and clears nothing that php-fpm serves.
//
// Answer: one line of JSON and "\n", starting with "cache":"apcu" (with action clear-all the
// invocation's output also holds opcache.php's line); the notifier reads the "cleared" count
// out of the SSM invocation's output. Errors use an HTTP status that makes `curl -f` fail,
// so the invocation ends Failed instead of a false Success.

declare(strict_types=1);

// Same rule as the dispatcher and the SSM document's allowedPattern. \A and \z
// rather than ^ and $: PCRE's $ also matches before a trailing newline.
const PREFIX_RULE = '^[A-Za-z0-9_.:-]{1,64}$';
const PREFIX_PATTERN = '/\A[A-Za-z0-9_.:-]{1,64}\z/';
// Keys deleted per round. apcu_clear_cache() frees every entry under one write lock,
// and every request that reads APCu waits until it is done: 67 to 155 ms at p99 for a
// million entries in `make bench` (bench/webnode.py). apcu_delete() takes the lock once
// per key, so reads get in between. A chunk bounds the keys held in memory at once.
const CHUNK = 1000;
// The worker steps aside after this much work (1 ms). On a node with 2 cores, a clear
// that never does keeps one of them busy, and requests beside a clear of 1,000,000 saw
// their p99 rise 4.7x (bench/webnode.py).
const SLICE_NS = 1_000_000;

function answer(int $status, array $body, array $headers = []): never
{
    http_response_code($status);
    header('Content-Type: application/json');
    // A clear is an action, never something a proxy or browser may replay from cache.
    header('Cache-Control: no-store');
    foreach ($headers as $header) {
        header($header);
    }
    echo json_encode($body, JSON_UNESCAPED_SLASHES), "\n";
    exit;
}

function refuse(int $status, string $error, string $message, array $headers = []): never
{
    answer(
        $status,
        ['cache' => 'apcu', 'status' => 'error', 'error' => $error, 'message' => $message],
        $headers,
    );
}

/** Deletes every key the iterator's pattern matches (all keys for null), CHUNK at a time. */
function delete_matching(?string $pattern): int
{
    $deleted = 0;
    $keys = [];
    $slice = hrtime(true);
    // Each chunk's keys are copied out under APCu's read lock and the iterator goes on
    // from the next hash slot, so deleting what it already handed out never disturbs it.
    foreach (new APCUIterator($pattern, APC_ITER_KEY, CHUNK) as $entry) {
        $keys[] = $entry['key'];
        if (count($keys) === CHUNK) {
            $deleted += delete_keys($keys);
            $keys = [];
            if (hrtime(true) - $slice >= SLICE_NS) {
                // The shortest sleep there is: the scheduler runs whatever waits first.
                usleep(1);
                $slice = hrtime(true);
            }
        }
    }
    return $deleted + delete_keys($keys);
}

/** apcu_delete() on an array returns the keys it could not delete (expired or deleted meanwhile). */
function delete_keys(array $keys): int
{
    return $keys === [] ? 0 : count($keys) - count(apcu_delete($keys));
}

function entry_count(): int
{
    // true = limited: counts without copying every entry's metadata.
    $info = apcu_cache_info(true);
    return is_array($info) ? (int) $info['num_entries'] : 0;
}

// Defence in depth behind nginx's allow/deny: if the location is ever copied
// without them, a request from outside still clears nothing. A stranger learns
// nothing else either, so this comes before every other check.
$remote = $_SERVER['REMOTE_ADDR'] ?? '';
if ($remote !== '127.0.0.1' && $remote !== '::1') {
    refuse(403, 'forbidden', 'apcu.php answers loopback requests only (127.0.0.1 or ::1).');
}

// POST only: a link, a crawler or a prefetch must never clear a cache.
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    refuse(405, 'method_not_allowed', 'Use POST.', ['Allow: POST']);
}

// The extension may be missing, or loaded with apc.enabled=0 (then every apcu_*
// call fails). Saying so with 503 fails the invocation rather than report 0 cleared.
if (!function_exists('apcu_enabled') || !apcu_enabled()) {
    refuse(503, 'apcu_unavailable', 'APCu is not enabled in php-fpm (extension apcu, apc.enabled=1).');
}

// No prefix field clears everything. A field that is present must be a valid
// prefix: an empty or malformed one is a mistake, never a reason to clear it all.
$prefix = null;
if (array_key_exists('prefix', $_POST)) {
    $prefix = $_POST['prefix'];
    if (!is_string($prefix) || preg_match(PREFIX_PATTERN, $prefix) !== 1) {
        refuse(400, 'invalid_prefix', 'prefix must match ' . PREFIX_RULE . ' (or be left out to clear everything).');
    }
}

$before = entry_count();
if ($prefix === null) {
    delete_matching(null);
    // What is left is what other workers stored meanwhile, or expired entries the
    // iterator skips: few, so this one short write lock empties the cache for certain.
    apcu_clear_cache();
    // Entries stored by other workers since the count above are new, not left over.
    $cleared = $before;
} else {
    // The prefix is quoted: "." or "-" in a prefix are characters, not regex syntax.
    $cleared = delete_matching('/^' . preg_quote($prefix, '/') . '/');
}

answer(200, [
    'cache' => 'apcu',
    'status' => 'cleared',
    'scope' => $prefix === null ? 'all' : 'prefix',
    'prefix' => $prefix,
    'entries_before' => $before,
    'entries_after' => entry_count(),
    'cleared' => $cleared,
    'host' => gethostname(),
    'pid' => getmypid(),
]);
