<?php
// Resets php-fpm's OPcache and proves the reset took.
//
// Called by the SSM document's script on every web node, through the node's own nginx, on
// the loopback-only server that also serves apcu.php (nginx-apcu.conf, the stack's ApcuPort),
// twice:
//   scheduled=$(curl -sS --fail-with-body -X POST --data step=reset http://127.0.0.1:8099/opcache.php)
//   curl -sS --fail-with-body -X POST --data step=confirm --data-urlencode "scheduled=$scheduled" \
//     http://127.0.0.1:8099/opcache.php
// It must run inside php-fpm: the CLI has an OPcache of its own, so `php -r 'opcache_reset();'`
// returns true and resets nothing that php-fpm serves.
//
// Why two requests. opcache_reset() only schedules a restart, and its return value says
// nothing about whether one happens (PHP bug #71621). The restart runs at the start of a
// request when no request holds the cache, and the request that scheduled it holds the cache
// until it ends: it can never see its own restart, however long it waits. So `reset` reads
// the status and schedules; `confirm`, a request of its own, waits until OPcache's restart
// counters have moved. Usually the confirm request's own start restarts the cache. When a
// request that began before the reset is still running, the restart waits for it to end, and
// confirm sends requests of its own meanwhile (a nudge): only a request that starts can run
// the restart.
//
// Answer: one line of JSON and "\n". step=confirm's line is the one the document prints:
//   {"cache":"opcache","status":"reset",...} or {"cache":"opcache","status":"error",...}
// Errors use a 5xx status (4xx for a malformed call), so `curl --fail-with-body` prints the
// reason and exits non-zero, and the invocation ends Failed instead of a false Success.

declare(strict_types=1);

// How long confirm waits for the restart. A request still running from before the reset
// delays it; past this, the reset is reported as not taken (`not_restarted`) while OPcache
// goes on compiling every script uncached until the restart happens.
const WAIT_NS = 5_000_000_000;
const POLL_US = 20_000;
// A nudge is one short request to this server; php-fpm may have no idle worker for it.
const NUDGE_TIMEOUT_S = 1.0;

function answer(int $status, array $body, array $headers = []): never
{
    http_response_code($status);
    header('Content-Type: application/json');
    // A reset is an action, never something a proxy or browser may replay from cache.
    header('Cache-Control: no-store');
    foreach ($headers as $header) {
        header($header);
    }
    echo json_encode($body, JSON_UNESCAPED_SLASHES), "\n";
    exit;
}

function fail(int $status, string $error, string $message, array $headers = []): never
{
    answer($status, [
        'cache' => 'opcache',
        'status' => 'error',
        'error' => $error,
        'message' => $message,
        'host' => gethostname(),
    ], $headers);
}

function ini_on(string $name): bool
{
    return filter_var(ini_get($name), FILTER_VALIDATE_BOOLEAN);
}

/** opcache_get_status(false), or the reason the reset cannot take. */
function status(): array
{
    if (!function_exists('opcache_get_status')) {
        fail(503, 'disabled', 'OPcache is not loaded in php-fpm (zend_extension=opcache).');
    }
    if (!ini_on('opcache.enable')) {
        fail(503, 'disabled', 'OPcache is off in php-fpm (opcache.enable=0): nothing to reset.');
    }
    if (ini_on('opcache.file_cache_only')) {
        fail(503, 'disabled', 'opcache.file_cache_only=1: php-fpm has no shared cache to reset.');
    }
    // OPcache's own rule: the API answers only scripts whose path starts with restrict_api.
    // Checked first, so the refusal comes with its reason instead of a PHP warning.
    $restrict = (string) ini_get('opcache.restrict_api');
    $self = (string) ($_SERVER['SCRIPT_FILENAME'] ?? __FILE__);
    if ($restrict !== '' && !str_starts_with($self, $restrict)) {
        fail(503, 'restricted', "opcache.restrict_api={$restrict} refuses {$self}: set it to a "
            . 'folder that holds this file (/opt/apcu-fleet-flush/), or leave it empty.');
    }
    $status = @opcache_get_status(false);
    if (!is_array($status)) {
        fail(503, 'disabled', 'OPcache did not start in php-fpm (opcache_get_status() returned false).');
    }
    return $status;
}

/** Every restart, whatever its reason: a restart already pending for lack of memory clears
 *  the same cache, but OPcache counts it under its own reason and ignores our request. */
function restarts(array $status): int
{
    $s = $status['opcache_statistics'];
    return (int) $s['manual_restarts'] + (int) $s['oom_restarts'] + (int) $s['hash_restarts'];
}

/** One request to this server, answered at once: its start runs a pending restart if no
 *  request holds the cache. Failures are ignored; the next status read tells. */
function nudge(): void
{
    $address = (string) ($_SERVER['SERVER_ADDR'] ?? '127.0.0.1');
    $host = str_contains($address, ':') ? "[{$address}]" : $address;
    $port = (int) ($_SERVER['SERVER_PORT'] ?? 0);
    $uri = (string) parse_url((string) ($_SERVER['REQUEST_URI'] ?? '/opcache.php'), PHP_URL_PATH);
    $connection = @stream_socket_client("tcp://{$host}:{$port}", $errno, $error, NUDGE_TIMEOUT_S);
    if ($connection === false) {
        return;
    }
    stream_set_timeout($connection, 0, (int) (NUDGE_TIMEOUT_S * 1e6));
    fwrite($connection, "POST {$uri} HTTP/1.0\r\nHost: {$host}:{$port}\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nstep=nudge");
    stream_get_contents($connection);
    fclose($connection);
}

function reset_step(): never
{
    $status = status();
    // The return value is not the answer (see the top): confirm checks what happened.
    opcache_reset();
    answer(200, [
        'cache' => 'opcache',
        'status' => 'scheduled',
        'host' => gethostname(),
        'scripts_before' => (int) $status['opcache_statistics']['num_cached_scripts'],
        'manual_restarts_before' => (int) $status['opcache_statistics']['manual_restarts'],
        'restarts_before' => restarts($status),
    ]);
}

function confirm_step(): never
{
    $scheduled = json_decode((string) ($_POST['scheduled'] ?? ''), true);
    $fields = ['scripts_before', 'manual_restarts_before', 'restarts_before'];
    if (!is_array($scheduled) || ($scheduled['status'] ?? null) !== 'scheduled'
        || array_filter($fields, fn ($f) => !is_int($scheduled[$f] ?? null)) !== []) {
        fail(400, 'invalid_request', 'scheduled must be the JSON line step=reset answered.');
    }
    $began = hrtime(true);
    while (true) {
        $status = status();
        if (restarts($status) > $scheduled['restarts_before'] && !$status['restart_in_progress']) {
            break;
        }
        if (hrtime(true) - $began >= WAIT_NS) {
            $timeout = (int) ini_get('opcache.force_restart_timeout');
            fail(503, 'not_restarted', sprintf(
                'the OPcache restart is still pending after %d s: a request that began before the '
                . 'reset still holds the cache. OPcache restarts once it ends, or ends it after '
                . 'opcache.force_restart_timeout=%d s; until then every script is compiled uncached.',
                intdiv(WAIT_NS, 1_000_000_000),
                $timeout,
            ));
        }
        nudge();
        usleep(POLL_US);
    }
    $validate = ini_on('opcache.validate_timestamps');
    $preload = ((string) ini_get('opcache.preload')) !== '' || isset($status['preload_statistics']);
    $fileCache = ((string) ini_get('opcache.file_cache')) !== '';
    // What the restart left alone, by code (webnode/README.md words them): preloaded scripts
    // stay until php-fpm reloads; the file cache was not cleared; with validate_timestamps=1
    // OPcache revalidates on its own every revalidate_freq s anyway.
    // The file cache can hand old code back only when OPcache does not look at the source:
    // php-src's zend_file_cache_script_load() (ext/opcache/zend_file_cache.c, "verify
    // timestamp") drops a cached file whose source's modification time differs from the one
    // stored with it whenever validate_timestamps is on, so a changed file is compiled anew.
    // Raised for validate_timestamps=0 only: the notifier turns the caveat into an alert.
    $caveats = array_keys(array_filter([
        'preload' => $preload,
        'file_cache' => $fileCache && !$validate,
        'validate_timestamps' => $validate,
    ]));
    answer(200, [
        'cache' => 'opcache',
        'status' => 'reset',
        'host' => gethostname(),
        'scripts_before' => $scheduled['scripts_before'],
        'scripts_after' => (int) $status['opcache_statistics']['num_cached_scripts'],
        'manual_restarts_before' => $scheduled['manual_restarts_before'],
        'manual_restarts_after' => (int) $status['opcache_statistics']['manual_restarts'],
        'validate_timestamps' => $validate,
        'preload' => $preload,
        'file_cache' => $fileCache,
        'caveats' => $caveats,
        'waited_ms' => intdiv(hrtime(true) - $began, 1_000_000),
    ]);
}

// Defence in depth behind nginx's allow/deny, as in apcu.php.
$remote = $_SERVER['REMOTE_ADDR'] ?? '';
if ($remote !== '127.0.0.1' && $remote !== '::1') {
    fail(403, 'forbidden', 'opcache.php answers loopback requests only (127.0.0.1 or ::1).');
}
// POST only: a link, a crawler or a prefetch must never reset a cache.
if (($_SERVER['REQUEST_METHOD'] ?? '') !== 'POST') {
    fail(405, 'method_not_allowed', 'Use POST.', ['Allow: POST']);
}
match ($_POST['step'] ?? null) {
    'reset' => reset_step(),
    'confirm' => confirm_step(),
    // Its start has done the work (see nudge()); nothing to answer.
    'nudge' => answer(200, ['cache' => 'opcache', 'status' => 'nudged']),
    default => fail(400, 'invalid_step', 'step must be reset or confirm.'),
};
